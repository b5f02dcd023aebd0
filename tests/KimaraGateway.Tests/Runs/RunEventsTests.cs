using System.Globalization;
using System.Net;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Runs;

/// <summary><c>GET /runs/{id}/events</c>: snapshot, one event per change, Last-Event-ID resume, end after terminal, 404 before streaming.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RunEventsTests(GatewayFixture fixture)
{
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Events_Start_With_A_Snapshot_Then_One_Event_Per_Change_And_End_After_Completed()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        var response = await client.OpenEventsAsync(id);
        await using var reader = new SseReader(response, fixture.Simulator.ApiKey);
        var events = await reader.ReadToEndAsync(StreamTimeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Equal("1", events[0].Id);
        Assert.Equal("queued", TrackingScaleOutTests.StatusOf(events[0]));
        Assert.All(events, e => Assert.Equal("status", e.Event));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(Id), events.Select(e => e.Id));
        Assert.Equal(["queued", "running", "completed"], events.Select(TrackingScaleOutTests.StatusOf));
        Assert.Contains("output_url", events[^1].Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resuming_With_Last_Event_ID_Replays_Nothing_Twice_And_Misses_Nothing()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        SseEvent first;
        await using (var reader = new SseReader(await client.OpenEventsAsync(id), fixture.Simulator.ApiKey))
        {
            first = (await reader.ReadAsync(CancellationToken.None))!;
        }

        // The client was away while the run moved on; it comes back with the last id it saw.
        var final = await client.WaitForTerminalAsync(id);
        await using var resumed = new SseReader(await client.OpenEventsAsync(id, first.Id), fixture.Simulator.ApiKey);
        var replayed = await resumed.ReadToEndAsync(StreamTimeout);

        var seen = new[] { first }.Concat(replayed).Select(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range(1, seen.Count).Select(Id), seen);
        Assert.Equal(["queued", "running", "completed"], new[] { first }.Concat(replayed).Select(TrackingScaleOutTests.StatusOf));
        Assert.Equal("completed", final["status"]!.GetValue<string>());

        await using var atEnd = new SseReader(await client.OpenEventsAsync(id, seen[^1]), fixture.Simulator.ApiKey);
        Assert.Empty(await atEnd.ReadToEndAsync(StreamTimeout));
    }

    [Theory]
    [InlineData("999")]
    [InlineData("not-a-number")]
    [InlineData("0")]
    public async Task A_Last_Event_ID_The_Run_Never_Had_Starts_Over_With_A_Snapshot(string lastEventId)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        await client.WaitForTerminalAsync(id);

        await using var reader = new SseReader(await client.OpenEventsAsync(id, lastEventId), fixture.Simulator.ApiKey);
        var events = await reader.ReadToEndAsync(StreamTimeout);

        var snapshot = Assert.Single(events);
        Assert.Equal("completed", TrackingScaleOutTests.StatusOf(snapshot));
    }

    [Fact]
    public async Task Events_For_An_Unknown_Or_Another_Callers_Run_Are_A_404_Problem_Before_Any_Stream()
    {
        using var alice = fixture.Gateway.CreateCallerClient();
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var foreign = await bob.OpenEventsAsync(id);
        using var unknown = await alice.OpenEventsAsync(KimaraGateway.Runs.RunIds.New());
        using var malformed = await alice.OpenEventsAsync("nope");

        foreach (var response in new[] { foreign, unknown, malformed })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Contains("run_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    private static string Id(int version) => version.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Heartbeats on a quiet stream, with a short heartbeat interval and a long run, on a gateway of its own.</summary>
public sealed class RunEventHeartbeatTests
{
    [Fact]
    public async Task A_Quiet_Stream_Gets_Heartbeat_Comments()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.QueuedSeconds = 30);
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString,
            new Dictionary<string, string?> { ["Tracking:EventHeartbeat"] = "00:00:00.200" });
        using var client = gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        await using var reader = new SseReader(await client.OpenEventsAsync(id), simulator.ApiKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var snapshot = await reader.ReadAsync(timeout.Token);
        var heartbeats = 0;
        while (heartbeats < 3 && await reader.ReadAsync(timeout.Token) is { } next)
        {
            Assert.True(next.IsComment, "Nothing changed, so nothing but heartbeats may arrive.");
            heartbeats++;
        }

        Assert.Equal("queued", TrackingScaleOutTests.StatusOf(snapshot!));
        Assert.Equal(3, heartbeats);
    }
}
