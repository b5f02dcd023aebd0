using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Runs;

/// <summary>
/// Several gateway replicas on real Kestrel, one redis-server, one simulator: Kimara sees one poll per run at the
/// tracker's cadence however many callers poll, changes reach every replica's event streams, and a replica going away
/// loses no run.
/// </summary>
public sealed class TrackingScaleOutTests
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Two_Hundred_Pollers_On_Two_Replicas_Cost_Kimara_At_Most_One_Status_Call_Per_Two_Seconds_Per_Run()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        using var upstream = new SimulatorClient(simulator);
        var redis = (await RedisServer.Shared).ConnectionString;
        var prefix = NewPrefix();
        await using var a = KestrelGateway.Start(simulator, redis, keyPrefix: prefix);
        await using var b = KestrelGateway.Start(simulator, redis, keyPrefix: prefix);
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        HttpClient[] replicas = [clientA, clientB];

        var submitted = new List<(string Id, Stopwatch Clock)>();
        for (var i = 0; i < 20; i++)
        {
            var run = await replicas[i % 2].SubmitTextToImageAsync($"run {i}");
            submitted.Add((run["id"]!.GetValue<string>(), Stopwatch.StartNew()));
        }

        var lifetimes = new ConcurrentDictionary<string, TimeSpan>();
        var unexpected = new ConcurrentQueue<string>();
        var pollers = Enumerable.Range(0, 200).Select(i => PollUntilTerminalAsync(replicas[(i / 20) % 2], submitted[i % 20], lifetimes, unexpected));
        await Task.WhenAll(pollers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(unexpected);
        var store = a.Services.GetRequiredService<IRunStore>();
        foreach (var (id, _) in submitted)
        {
            var run = await store.GetAsync(id, default);
            Assert.Equal(RunStatus.Completed, run!.Status);
            var allowed = (int)Math.Ceiling(lifetimes[id] / PollInterval) + 1;
            var calls = await upstream.StatusCallsAsync(run.UpstreamId!);
            Assert.InRange(calls, 1, allowed);
        }
    }

    [Fact]
    public async Task An_Event_Stream_On_Replica_B_Carries_Every_Change_Replica_A_Observed_In_Order()
    {
        // Long enough phases that each stream is open before its run leaves queued, however loaded the machine is.
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => (o.QueuedSeconds, o.RunningSeconds) = (4, 3));
        var redis = (await RedisServer.Shared).ConnectionString;
        var prefix = NewPrefix();
        await using var a = KestrelGateway.Start(simulator, redis, keyPrefix: prefix);
        // B polls nothing itself: whatever its streams carry was observed by A's tracker and crossed Redis pub/sub.
        await using var b = KestrelGateway.Start(simulator, redis, new Dictionary<string, string?> { ["Tracking:Enabled"] = "false" }, prefix);
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var ids = new List<string>();
        var streams = new List<Task<IReadOnlyList<SseEvent>>>();
        for (var i = 0; i < 3; i++)
        {
            var id = (await clientA.SubmitTextToImageAsync($"watched {i}"))["id"]!.GetValue<string>();
            ids.Add(id);
            var response = await clientB.OpenEventsAsync(id);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reader = new SseReader(response, simulator.ApiKey);
            streams.Add(ReadAllAsync(reader));
        }

        // Three streams, two replicas: one subscription to the change channel each, not one per stream.
        await using var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
        var numsub = (StackExchange.Redis.RedisResult[])(await redisClient.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", prefix + "changes"))!;
        var received = await Task.WhenAll(streams);

        Assert.Equal(2, (long)numsub[1]);

        var store = a.Services.GetRequiredService<IRunStore>();
        for (var i = 0; i < ids.Count; i++)
        {
            var observed = (await store.GetAsync(ids[i], default))!.History;
            Assert.Equal(observed.Select(t => t.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), received[i].Select(e => e.Id));
            Assert.Equal(observed.Select(t => t.Status.ToString().ToLowerInvariant()), received[i].Select(StatusOf));
            Assert.Equal("completed", StatusOf(received[i][^1]));
        }
    }

    [Fact]
    public async Task When_A_Replica_Goes_Away_Mid_Run_The_Other_Finishes_Tracking_Every_Run()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 8);
        var redis = (await RedisServer.Shared).ConnectionString;
        var prefix = NewPrefix();
        // A short lease, so the survivor takes over runs whose lease the departed replica still held within seconds.
        var settings = new Dictionary<string, string?> { ["Tracking:Lease"] = "00:00:03" };
        var a = KestrelGateway.Start(simulator, redis, settings, prefix);
        await using var stopA = a;
        using var clientA = a.CreateClient();

        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add((await clientA.SubmitTextToImageAsync($"survivor {i}"))["id"]!.GetValue<string>());
        }

        // Every run is being tracked by A (running is only known from A's polls) before B exists.
        foreach (var id in ids)
        {
            await WaitForStatusAsync(clientA, id, "running");
        }

        await using var b = KestrelGateway.Start(simulator, redis, settings, prefix);
        using var clientB = b.CreateClient();
        await a.DisposeAsync();

        foreach (var id in ids)
        {
            var done = await clientB.WaitForTerminalAsync(id, TimeSpan.FromSeconds(40));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
        }

        Assert.Equal(0, await b.Services.GetRequiredService<IRunStore>().CountActiveAsync(TestCallers.Alice, default));
    }

    private static async Task PollUntilTerminalAsync(
        HttpClient client,
        (string Id, Stopwatch Clock) run,
        ConcurrentDictionary<string, TimeSpan> lifetimes,
        ConcurrentQueue<string> unexpected)
    {
        string? etag = null;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{run.Id}");
            if (etag is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", etag);
            }

            using var response = await client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                etag = response.Headers.ETag?.ToString();
                var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
                if (body["status"]!.GetValue<string>() is "completed" or "failed")
                {
                    lifetimes.TryAdd(run.Id, run.Clock.Elapsed);
                    return;
                }
            }
            else if (response.StatusCode != HttpStatusCode.NotModified)
            {
                unexpected.Enqueue($"{run.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                return;
            }

            await Task.Delay(100);
        }
    }

    private static async Task WaitForStatusAsync(HttpClient client, string id, string status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await client.GetRunAsync(id))["status"]!.GetValue<string>() != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Run {id} never reached {status}.");
            await Task.Delay(100);
        }
    }

    private static async Task<IReadOnlyList<SseEvent>> ReadAllAsync(SseReader reader)
    {
        await using (reader)
        {
            return await reader.ReadToEndAsync(TimeSpan.FromSeconds(30));
        }
    }

    internal static string StatusOf(SseEvent e) => JsonNode.Parse(e.Data)!["status"]!.GetValue<string>();

    private static string NewPrefix() => $"s{Guid.NewGuid():N}:"[..13];
}
