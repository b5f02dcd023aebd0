using System.Net;
using System.Text.Json;

namespace Kimara.Simulator.Tests;

public sealed class ControlAndFaultTests
{
    [Fact]
    public async Task Counters_Count_Every_Request_Including_Rejected_And_Rate_Limited_Ones()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        using (await sim.Anonymous.PostAsync("runs", null)) { }
        using (await sim.PostRunAsync("text-to-image", new { nope = 1 })) { }
        using (await sim.Client.GetAsync($"runs/{runId}")) { }
        using (await sim.Client.GetAsync($"runs/{runId}")) { }
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;
        using (await sim.Anonymous.GetAsync(outputUrl)) { }

        var counters = await sim.CountersAsync();
        var routes = counters.GetProperty("routes");
        var run = counters.GetProperty("runs").GetProperty(runId);

        Assert.Equal(3, routes.GetProperty("POST /runs").GetInt32());
        Assert.Equal(3, routes.GetProperty("GET /runs/{id}").GetInt32());
        Assert.Equal(1, routes.GetProperty("GET /cdn/outputs").GetInt32());
        Assert.Equal(2, counters.GetProperty("rejected_posts").GetInt32());
        Assert.Equal(3, run.GetProperty("status_calls").GetInt32());
        Assert.Equal(1, run.GetProperty("output_calls").GetInt32());
        Assert.Equal(3, run.GetProperty("status_call_times").GetArrayLength());
        Assert.Equal(sim.Clock.GetUtcNow(), run.GetProperty("status_call_times")[2].GetDateTimeOffset());
        Assert.Single(counters.GetProperty("received").EnumerateArray());
    }

    [Fact]
    public async Task Storm429_Answers_Every_Matching_Request_With_Retry_After()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        await sim.PutFaultsAsync("""{"storm429":true,"retry_after_seconds":7}""");

        using var response = await sim.PostRunAsync("text-to-image", new { prompt = "x" });

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, (await sim.CountersAsync()).GetProperty("routes").GetProperty("POST /runs").GetInt32());
    }

    [Fact]
    public async Task Error_Rate_One_Answers_The_Configured_Status()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        await sim.PutFaultsAsync("""{"error_rate":1,"error_status":502}""");

        using var response = await sim.PostRunAsync("text-to-image", new { prompt = "x" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task Malformed_Rate_One_Answers_200_With_An_Unparsable_Body()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        await sim.PutFaultsAsync("""{"malformed_rate":1,"target":"get"}""");

        using var response = await sim.Client.GetAsync($"runs/{runId}");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
    }

    [Fact]
    public async Task Faults_Apply_Only_To_Their_Target_Route()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        await sim.PutFaultsAsync("""{"error_rate":1,"target":"post"}""");

        using var post = await sim.PostRunAsync("text-to-image", new { prompt = "x" });
        using var get = await sim.Client.GetAsync($"runs/{runId}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task Reset_Rate_One_Drops_The_Connection()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        await sim.PutFaultsAsync("""{"reset_rate":1}""");

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.PostRunAsync("text-to-image", new { prompt = "x" }));
    }

    [Fact]
    public async Task Hang_Rate_One_Never_Answers_Until_The_Client_Gives_Up()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        await sim.PutFaultsAsync("""{"hang_rate":1}""");
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            sim.Client.GetAsync("runs/run_000000000000000000000000", giveUp.Token));
    }

    [Fact]
    public async Task Output_Faults_Change_The_Cdn_Answer()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        await sim.PutFaultsAsync("""{"output_content_type":"text/html"}""");
        using var html = await sim.Anonymous.GetAsync(outputUrl);
        await sim.PutFaultsAsync("""{"output_redirect_to":"http://169.254.169.254/latest"}""");
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var redirect = await noRedirects.GetAsync(outputUrl);
        await sim.PutFaultsAsync("""{"reset_output_midway":true}""");

        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("http://169.254.169.254/latest", redirect.Headers.Location?.ToString());
        await Assert.ThrowsAnyAsync<Exception>(() => sim.Anonymous.GetByteArrayAsync(outputUrl));
    }

    [Fact]
    public async Task Faults_Endpoint_Round_Trips_And_Fills_Omitted_Fields_With_Defaults()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        await sim.PutFaultsAsync("""{"latency_ms":5,"target":"output"}""");

        using var response = await sim.Anonymous.GetAsync("_sim/faults");
        var faults = await SimulatorHarness.ReadJsonAsync(response);

        Assert.Equal(5, faults.GetProperty("latency_ms").GetInt32());
        Assert.Equal("output", faults.GetProperty("target").GetString());
        Assert.Equal(503, faults.GetProperty("error_status").GetInt32());
        Assert.Equal(5, sim.Server.Options.Faults.LatencyMs);
    }

    [Theory]
    [InlineData("""{"target":"everything"}""")]
    [InlineData("""{"error_rat":1}""")]
    [InlineData("""{"error_status":200}""")]
    public async Task Faults_Endpoint_Rejects_Invalid_Faults(string json)
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.Anonymous.PutAsync("_sim/faults",
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Reset_Clears_Runs_Counters_And_Faults_But_Keeps_Timing()
    {
        await using var sim = await SimulatorHarness.StartAsync(o => o.RunningSeconds = 9);
        var runId = await sim.CreateRunAsync();
        await sim.PutFaultsAsync("""{"error_rate":1,"target":"get"}""");

        using var reset = await sim.Anonymous.PostAsync("_sim/reset", null);
        using var run = await sim.Client.GetAsync($"runs/{runId}");
        var counters = await sim.CountersAsync();

        Assert.True(reset.IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.NotFound, run.StatusCode);
        Assert.Equal(0, counters.GetProperty("routes").GetProperty("POST /runs").GetInt32());
        Assert.Equal(1, counters.GetProperty("routes").GetProperty("GET /runs/{id}").GetInt32());
        Assert.Empty(counters.GetProperty("received").EnumerateArray());
        Assert.Equal(0, sim.Server.Options.Faults.ErrorRate);
        Assert.Equal(9, sim.Server.Options.RunningSeconds);
    }
}
