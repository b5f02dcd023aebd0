using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Callers;

/// <summary>
/// Gateways on one simulator: "waiting" ones (a retry waits for the first request, on Redis and in memory) and a strict
/// one (409 at once) with a short upstream attempt timeout, so a hung POST ends as an unknown outcome quickly.
/// </summary>
public sealed class IdempotencyFixture : IAsyncLifetime
{
    public CallerGateways Gateways { get; } = new();

    public GatewayFactory WaitingRedis { get; private set; } = null!;

    public GatewayFactory WaitingInMemory { get; private set; } = null!;

    public GatewayFactory Strict { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Gateways.InitializeAsync();
        KeyValuePair<string, string?>[] waiting = [new("Idempotency:InFlightWait", "00:00:20")];
        WaitingRedis = await Gateways.StartAsync(waiting);
        WaitingInMemory = await Gateways.StartAsync(waiting, redis: false);
        Strict = await Gateways.StartAsync([new("Kimara:AttemptTimeout", "00:00:03"), new("Kimara:TotalTimeout", "00:00:06")]);
    }

    public Task DisposeAsync() => Gateways.DisposeAsync();
}

public sealed class IdempotencyTests(IdempotencyFixture fixture) : IClassFixture<IdempotencyFixture>, IAsyncLifetime
{
    private SimulatorClient Upstream => fixture.Gateways.Upstream;

    public Task InitializeAsync() => Upstream.ClearFaultsAsync();

    public Task DisposeAsync() => Upstream.ClearFaultsAsync();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Fifty_Parallel_Submissions_With_One_Key_Start_One_Run_And_All_Get_Its_Id(bool redis)
    {
        var gateway = redis ? fixture.WaitingRedis : fixture.WaitingInMemory;
        using var client = gateway.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();
        var body = Body("fifty at once");
        // Upstream latency keeps the first submission in flight while the others arrive.
        await Upstream.SetFaultsAsync(new { Target = "post", LatencyMs = 300 });
        var postsBefore = await Upstream.PostCountAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => PostAsync(client, key, body)));

        Assert.Equal(postsBefore + 1, await Upstream.PostCountAsync());
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.Status));
        Assert.Single(responses.Select(r => r.RunId).Distinct());
        Assert.Single(responses.Select(r => r.Location).Distinct());
        Assert.Single(responses.Select(r => r.Body).Distinct());
        Assert.Equal(49, responses.Count(r => r.Replayed));
    }

    [Fact]
    public async Task A_Replay_Returns_The_First_Response_Even_After_The_Run_Moved_On()
    {
        using var client = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();
        var body = Body("replayed later");
        var first = await PostAsync(client, key, body);
        await client.WaitForTerminalAsync(first.RunId!);
        var postsBefore = await Upstream.PostCountAsync();

        var again = await PostAsync(client, key, body);

        Assert.Equal(postsBefore, await Upstream.PostCountAsync());
        Assert.Equal((first.Status, first.RunId, first.Location, first.Body), (again.Status, again.RunId, again.Location, again.Body));
        Assert.Contains("\"queued\"", again.Body, StringComparison.Ordinal);
        Assert.True(again.Replayed);
    }

    [Fact]
    public async Task The_Same_Key_With_Another_Body_Is_422_And_Sends_Nothing_Upstream()
    {
        using var client = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();
        var first = await PostAsync(client, key, Body("the first body"));
        var postsBefore = await Upstream.PostCountAsync();

        var reused = await PostAsync(client, key, Body("another body"));

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.Status);
        Assert.Equal("idempotency_key_reused", reused.Code);
        Assert.Equal(postsBefore, await Upstream.PostCountAsync());
    }

    [Fact]
    public async Task The_Same_Key_Used_By_Two_Callers_Starts_Two_Independent_Runs()
    {
        using var alice = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        using var bob = fixture.WaitingRedis.CreateCallerClient(TestCallers.Bob);
        var key = NewKey();
        var body = Body("same key, two callers");
        var postsBefore = await Upstream.PostCountAsync();

        var fromAlice = await PostAsync(alice, key, body);
        var fromBob = await PostAsync(bob, key, body);

        Assert.Equal(HttpStatusCode.Accepted, fromAlice.Status);
        Assert.Equal(HttpStatusCode.Accepted, fromBob.Status);
        Assert.NotEqual(fromAlice.RunId, fromBob.RunId);
        Assert.False(fromBob.Replayed);
        Assert.Equal(postsBefore + 2, await Upstream.PostCountAsync());
        using var bobReadsAlices = await bob.GetAsync($"/runs/{fromAlice.RunId}");
        Assert.Equal(HttpStatusCode.NotFound, bobReadsAlices.StatusCode);
    }

    [Fact]
    public async Task A_Retry_While_The_First_Is_In_Flight_Is_409_Then_Gets_The_First_Response()
    {
        using var client = fixture.Strict.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();
        var body = Body("slow upstream");
        await Upstream.SetFaultsAsync(new { Target = "post", LatencyMs = 1500 });
        var postsBefore = await Upstream.PostCountAsync();

        var first = PostAsync(client, key, body);
        await WaitUntilAsync(async () => await Upstream.PostCountAsync() > postsBefore);
        var during = await PostAsync(client, key, body);
        var done = await first;
        var after = await PostAsync(client, key, body);

        Assert.Equal(HttpStatusCode.Conflict, during.Status);
        Assert.Equal("idempotency_request_in_flight", during.Code);
        Assert.NotNull(during.RetryAfter);
        Assert.Equal(HttpStatusCode.Accepted, done.Status);
        Assert.Equal((done.Status, done.RunId, done.Body), (after.Status, after.RunId, after.Body));
        Assert.Equal(postsBefore + 1, await Upstream.PostCountAsync());
    }

    [Fact]
    public async Task An_Unknown_Upstream_Outcome_Is_Replayed_With_Its_Run_Id_And_Never_Posted_Again()
    {
        using var client = fixture.Strict.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();
        var body = Body("kimara never answers");
        await Upstream.SetFaultsAsync(new { Target = "post", HangRate = 1.0 });
        var postsBefore = await Upstream.PostCountAsync();

        var first = await PostAsync(client, key, body);
        await Upstream.ClearFaultsAsync();
        var retry = await PostAsync(client, key, body);
        var run = await client.GetRunAsync(first.RunId!);
        var freshKey = await PostAsync(client, NewKey(), body);

        Assert.Equal(HttpStatusCode.GatewayTimeout, first.Status);
        Assert.Equal("upstream_timeout", first.Code);
        Assert.Equal((first.Status, first.RunId, first.Body), (retry.Status, retry.RunId, retry.Body));
        Assert.True(retry.Replayed);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal("submission_outcome_unknown", run["error_code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, freshKey.Status);
        Assert.Equal(postsBefore + 2, await Upstream.PostCountAsync());
    }

    [Fact]
    public async Task A_Submission_That_Started_Nothing_Releases_Its_Key()
    {
        using var client = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        var key = NewKey();

        var invalid = await PostAsync(client, key, """{"app_id":"text-to-image","inputs":{"prompt":"x"},"extra":1}""");
        await Upstream.SetFaultsAsync(new { Target = "post", ErrorRate = 1.0, ErrorStatus = 500 });
        var upstreamDown = await PostAsync(client, key, Body("upstream is down"));
        await Upstream.ClearFaultsAsync();
        var accepted = await PostAsync(client, key, Body("fixed and retried"));

        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.True(upstreamDown.Status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"{upstreamDown.Status}");
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        Assert.False(accepted.Replayed);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("has space")]
    [InlineData("caf\u00e9")]
    [InlineData("x", 256)]
    public async Task A_Malformed_Key_Is_400_And_Starts_Nothing(string key, int repeat = 1)
    {
        using var client = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        var postsBefore = await Upstream.PostCountAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = new StringContent(Body("bad key"), Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", string.Concat(Enumerable.Repeat(key, repeat)));
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("idempotency_key_invalid", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(postsBefore, await Upstream.PostCountAsync());
    }

    [Fact]
    public async Task A_Key_Of_255_Characters_Or_A_Quoted_Key_Is_Accepted()
    {
        using var client = fixture.WaitingRedis.CreateCallerClient(TestCallers.Alice);
        var longKey = new string('k', 250) + Guid.NewGuid().ToString("N")[..5];
        var quoted = NewKey();

        var withLong = await PostAsync(client, longKey, Body("long key"));
        var bare = await PostAsync(client, quoted, Body("quoted key"));
        var withQuotes = await PostAsync(client, $"\"{quoted}\"", Body("quoted key"));

        Assert.Equal(HttpStatusCode.Accepted, withLong.Status);
        Assert.Equal(bare.RunId, withQuotes.RunId);
        Assert.True(withQuotes.Replayed);
    }

    private static string NewKey() => "key-" + Guid.NewGuid().ToString("N");

    private static string Body(string prompt) => new JsonObject { ["app_id"] = "text-to-image", ["inputs"] = new JsonObject { ["prompt"] = prompt } }.ToJsonString();

    private static async Task<Outcome> PostAsync(HttpClient client, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonNode.Parse(text)?.AsObject();
        return new Outcome(
            response.StatusCode,
            json?["id"]?.GetValue<string>() ?? json?["run_id"]?.GetValue<string>(),
            response.Headers.Location?.ToString(),
            text,
            json?["code"]?.GetValue<string>(),
            response.Headers.RetryAfter?.ToString(),
            response.Headers.TryGetValues("Idempotency-Replayed", out var replayed) && replayed.Single() == "true");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold in time.");
            await Task.Delay(10);
        }
    }

    private sealed record Outcome(HttpStatusCode Status, string? RunId, string? Location, string Body, string? Code, string? RetryAfter, bool Replayed);
}
