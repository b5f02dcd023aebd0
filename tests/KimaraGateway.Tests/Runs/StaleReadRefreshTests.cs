using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Runs;

/// <summary>When no tracker keeps up, reads refresh a stale run themselves: once, across replicas, never more often than the tracker would.</summary>
public sealed class StaleReadRefreshTests
{
    [Fact]
    public async Task Without_A_Tracker_Concurrent_Reads_On_Two_Replicas_Refresh_A_Stale_Run_One_Poll_At_A_Time()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        using var upstream = new SimulatorClient(simulator);
        var redis = (await RedisServer.Shared).ConnectionString;
        var settings = new Dictionary<string, string?>
        {
            ["Runs:KeyPrefix"] = $"r{Guid.NewGuid():N}:"[..13],
            ["Tracking:Enabled"] = "false",
            ["Tracking:StaleAfter"] = "00:00:01",
        };
        await using var a = new GatewayFactory(simulator, redis, settings);
        await using var b = new GatewayFactory(simulator, redis, settings);
        using var clientA = a.CreateCallerClient();
        using var clientB = b.CreateCallerClient();
        var clock = Stopwatch.StartNew();
        var id = (await clientA.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        var lifetimes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? ReadUntilTerminalAsync(clientA, a.Logs, id, clock) : ReadUntilTerminalAsync(clientB, b.Logs, id, clock)));

        var run = await a.Services.GetRequiredService<IRunStore>().GetAsync(id, default);
        var calls = await upstream.StatusCallsAsync(run!.UpstreamId!);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.InRange(calls, 1, (int)Math.Ceiling(lifetimes.Min() / TimeSpan.FromSeconds(2)) + 1);
    }

    [Fact]
    public async Task A_Failed_Refresh_Serves_The_Last_Known_Status_And_Says_Why_In_The_Log()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o =>
        {
            o.QueuedSeconds = 0;
            o.RunningSeconds = 0;
        });
        var settings = new Dictionary<string, string?>
        {
            ["Tracking:Enabled"] = "false",
            ["Tracking:StaleAfter"] = "00:00:01",
        };
        // Kimara reports the run completed; finishing it (the output re-host) then throws inside the read's refresh.
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, settings)
        {
            TestServices = services => services.AddSingleton<IRunCompletion>(new ThrowingCompletion()),
        };
        using var client = gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        var statuses = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var failure = $"On-demand refresh of run \"{id}\" failed";
        while (!gateway.Logs.Contains(failure) && DateTime.UtcNow < deadline)
        {
            statuses.Add(await ReadStatusAsync(client, id));
            await Task.Delay(100);
        }

        Assert.True(gateway.Logs.Contains(failure), "no read refreshed the stale run: " + string.Join(",", statuses));
        // The read that hit the failure and every one after it: the last known status, never an error.
        statuses.Add(await ReadStatusAsync(client, id));
        Assert.All(statuses, s => Assert.True(s is "queued" or "running", s));
        Assert.Equal(RunStage.Rehosting, (await gateway.Services.GetRequiredService<IRunStore>().GetAsync(id, default))!.Stage);
    }

    private static async Task<string> ReadStatusAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/runs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>();
    }

    private sealed class ThrowingCompletion : IRunCompletion
    {
        public Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken) =>
            throw new IOException("The output store is unreachable (test).");
    }

    private static async Task<TimeSpan> ReadUntilTerminalAsync(HttpClient client, LogCapture logs, string id, Stopwatch clock)
    {
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(30);
        while (clock.Elapsed < deadline)
        {
            using var response = await client.GetAsync($"/runs/{id}");
            // On failure, the replica's own errors say why.
            Assert.True(response.StatusCode == HttpStatusCode.OK,
                $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{string.Join('\n', logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)))}");
            if ((await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>() is "completed" or "failed")
            {
                return clock.Elapsed;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Run {id} never finished: nothing refreshed it.");
    }
}
