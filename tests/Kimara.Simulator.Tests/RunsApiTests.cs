using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Kimara.Simulator.Tests;

public sealed class RunsApiTests
{
    [Fact]
    public async Task Post_Runs_Without_Or_With_Wrong_Key_Is_Rejected_With_401()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        using var body = new StringContent("""{"app_id":"text-to-image","inputs":{"prompt":"x"}}""");
        using var wrongKey = new HttpRequestMessage(HttpMethod.Post, "runs") { Content = body };
        wrongKey.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key");

        using var missing = await sim.Anonymous.PostAsync("runs", body);
        using var wrong = await sim.Anonymous.SendAsync(wrongKey);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("invalid_api_key", (await SimulatorHarness.ReadJsonAsync(wrong)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Get_Run_Without_Key_Is_Rejected_With_401()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();

        using var response = await sim.Anonymous.GetAsync($"runs/{runId}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Post_Runs_Returns_A_Queued_Run_With_A_Random_Id()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRunAsync("text-to-image", new { prompt = "a cat" });
        var run = await SimulatorHarness.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("^run_[0-9a-z]{24}$", run.GetProperty("id").GetString());
        Assert.Equal("queued", run.GetProperty("status").GetString());
        Assert.Equal("text-to-image", run.GetProperty("app_id").GetString());
        Assert.Equal(sim.Clock.GetUtcNow(), run.GetProperty("created_at").GetDateTimeOffset());
        Assert.False(run.TryGetProperty("output_url", out _));
    }

    [Fact]
    public async Task Get_Run_Moves_From_Queued_To_Running_To_Completed_With_The_Clock()
    {
        await using var sim = await SimulatorHarness.StartAsync(o => (o.QueuedSeconds, o.RunningSeconds) = (2, 5));
        var runId = await sim.CreateRunAsync();
        var statuses = new List<string>();

        foreach (var step in new[] { 1, 2, 3, 2 })
        {
            using var response = await sim.Client.GetAsync($"runs/{runId}");
            statuses.Add((await SimulatorHarness.ReadJsonAsync(response)).GetProperty("status").GetString()!);
            sim.Clock.Advance(TimeSpan.FromSeconds(step));
        }

        using var last = await sim.Client.GetAsync($"runs/{runId}");
        var completed = await SimulatorHarness.ReadJsonAsync(last);

        Assert.Equal(["queued", "queued", "running", "running"], statuses);
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.StartsWith(sim.Server.BaseAddress + "cdn/outputs/" + runId + ".png?expires=", completed.GetProperty("output_url").GetString());
        Assert.False(completed.TryGetProperty("error", out _));
        Assert.Equal(completed.GetProperty("created_at").GetDateTimeOffset().AddSeconds(7), completed.GetProperty("updated_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Run_With_Fail_Token_In_Any_String_Input_Ends_Failed_With_Error()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync("fine", new { negative_prompt = "blurry [fail]" });

        var run = await sim.CompleteRunAsync(runId);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith("simulated failure: ", run.GetProperty("error").GetString());
        Assert.False(run.TryGetProperty("output_url", out _));
    }

    [Fact]
    public async Task Get_Run_Polled_Faster_Than_The_Minimum_Interval_Answers_429()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();

        using var first = await sim.Client.GetAsync($"runs/{runId}");
        sim.Clock.Advance(TimeSpan.FromMilliseconds(400));
        using var tooSoon = await sim.Client.GetAsync($"runs/{runId}");
        sim.Clock.Advance(TimeSpan.FromMilliseconds(700));
        using var afterInterval = await sim.Client.GetAsync($"runs/{runId}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, tooSoon.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), tooSoon.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limited", (await SimulatorHarness.ReadJsonAsync(tooSoon)).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, afterInterval.StatusCode);
    }

    [Fact]
    public async Task Get_Run_Unknown_Id_Is_404()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.Client.GetAsync("runs/run_000000000000000000000000");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("run_not_found", (await SimulatorHarness.ReadJsonAsync(response)).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"prompt":"x","colour":"red"}""", "colour")]
    [InlineData("""{"prompt":42}""", "prompt")]
    [InlineData("""{"prompt":"x","steps":20.0}""", "steps")]
    [InlineData("""{"prompt":"x","steps":"20"}""", "steps")]
    [InlineData("""{"prompt":"x","steps":101}""", "steps")]
    [InlineData("""{"prompt":"x","seed":4294967296}""", "seed")]
    [InlineData("""{"prompt":"x","aspect_ratio":"2:1"}""", "aspect_ratio")]
    [InlineData("""{"prompt":""}""", "prompt")]
    [InlineData("""{"steps":20}""", "prompt")]
    public async Task Post_Runs_Rejects_Inputs_That_Do_Not_Match_The_App_With_422(string inputs, string badField)
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRawAsync($$"""{"app_id":"text-to-image","inputs":{{inputs}}}""");
        var body = await SimulatorHarness.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("invalid_inputs", body.GetProperty("error").GetString());
        Assert.True(body.GetProperty("details").TryGetProperty(badField, out _), body.ToString());
    }

    [Fact]
    public async Task Post_Runs_Rejects_Unknown_Input_Field()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRunAsync("text-to-image", new { prompt = "x", sampler = "euler" });
        var details = (await SimulatorHarness.ReadJsonAsync(response)).GetProperty("details");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("unknown field", details.GetProperty("sampler").GetString());
    }

    [Fact]
    public async Task Post_Runs_Accepts_Every_Documented_Text_To_Image_Field()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRunAsync("text-to-image", new
        {
            prompt = "x",
            negative_prompt = "y",
            steps = 100,
            seed = 4294967295L,
            aspect_ratio = "16:9",
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==", HttpStatusCode.OK)]
    [InlineData("data:image/jpeg;base64,/9j/4AAQSkZJRg==", HttpStatusCode.OK)]
    [InlineData("data:image/webp;base64,UklGRiQAAABXRUJQVlA4", HttpStatusCode.OK)]
    [InlineData("data:image/png;base64,/9j/4AAQSkZJRg==", HttpStatusCode.UnprocessableEntity)]
    [InlineData("data:image/gif;base64,R0lGODlhAQABAAAAACw=", HttpStatusCode.UnprocessableEntity)]
    [InlineData("data:image/png;base64,not base64!", HttpStatusCode.UnprocessableEntity)]
    [InlineData("https://example.com/cat.png", HttpStatusCode.UnprocessableEntity)]
    public async Task Post_Runs_Checks_Image_Inputs_Are_Data_Urls_Of_The_Declared_Type(string image, HttpStatusCode expected)
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRunAsync("upscaler", new { image });

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Post_Runs_Checks_Image_To_Image_Strength_Range()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        const string png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==";

        using var ok = await sim.PostRunAsync("image-to-image", new { image = png, prompt = "oil", strength = 0.25 });
        using var tooStrong = await sim.PostRunAsync("image-to-image", new { image = png, strength = 1.5 });
        using var missingImage = await sim.PostRunAsync("image-to-image", new { prompt = "oil" });

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooStrong.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missingImage.StatusCode);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"inputs":{}}""")]
    [InlineData("""{"app_id":"text-to-image","inputs":"prompt"}""")]
    public async Task Post_Runs_Rejects_Malformed_Bodies_With_400(string body)
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRawAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", (await SimulatorHarness.ReadJsonAsync(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Post_Runs_Unknown_App_Is_404()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.PostRunAsync("no-such-app", new { prompt = "x" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("app_not_found", (await SimulatorHarness.ReadJsonAsync(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Json_Is_Snake_Case_And_Omits_Absent_Fields()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();

        using var response = await sim.Client.GetAsync($"runs/{runId}");
        var names = (await SimulatorHarness.ReadJsonAsync(response)).EnumerateObject().Select(p => p.Name);

        Assert.Equal(["id", "app_id", "status", "created_at", "updated_at"], names);
    }

    [Fact]
    public async Task Options_Endpoint_Changes_Timing_At_Run_Time()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        using var put = await sim.Anonymous.PutAsync("_sim/options",
            new StringContent("""{"queued_seconds":0,"running_seconds":0}""", System.Text.Encoding.UTF8, "application/json"));
        var runId = await sim.CreateRunAsync();

        using var response = await sim.Client.GetAsync($"runs/{runId}");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(0, sim.Server.Options.QueuedSeconds);
        Assert.Equal(60, sim.Server.Options.OutputUrlLifetimeSeconds);
        Assert.Equal("completed", (await SimulatorHarness.ReadJsonAsync(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Received_Inputs_Are_Recorded_Exactly()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync("exact", new { steps = 7 });

        var received = (await sim.CountersAsync()).GetProperty("received")[0];

        Assert.Equal(runId, received.GetProperty("run_id").GetString());
        Assert.Equal("text-to-image", received.GetProperty("app_id").GetString());
        Assert.Equal("""{"prompt":"exact","steps":7}""", JsonSerializer.Serialize(received.GetProperty("inputs")));
    }
}
