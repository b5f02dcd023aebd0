using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

/// <summary>A re-host killed halfway never leaves a partial output to serve, and the run completes once a retry gets the whole.</summary>
public sealed class RehostCrashSafetyTests
{
    private static readonly Dictionary<string, string?> FastPolling = new() { ["Tracking:PollInterval"] = "00:00:00.300" };

    [Fact]
    public async Task A_Download_Reset_Midway_Serves_Nothing_And_The_Run_Completes_After_Retry()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o =>
        {
            o.QueuedSeconds = 0;
            o.RunningSeconds = 0.2;
            o.MinPollIntervalSeconds = 0;
            o.OutputBytes = 2_000_000;
            o.Faults.ResetOutputMidway = true;
        });
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, FastPolling);
        using var client = gateway.CreateCallerClient();
        using var upstream = new SimulatorClient(simulator);
        var prompt = "reset midway " + Guid.NewGuid();
        var id = (await client.SubmitTextToImageAsync(prompt))["id"]!.GetValue<string>();

        await WaitUntilAsync(async () => await upstream.RouteCountAsync("GET /cdn/outputs") >= 2);

        var during = await client.GetRunAsync(id);
        Assert.Equal("running", during["status"]!.GetValue<string>());
        using var notServed = await client.GetAsync($"/runs/{id}/output");
        Assert.Equal(HttpStatusCode.NotFound, notServed.StatusCode);
        Assert.Equal("output_not_ready", (await notServed.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Null(await gateway.Services.GetRequiredService<IOutputStore>().FindAsync(id, default));

        simulator.Options.Faults.ResetOutputMidway = false;
        var done = await client.WaitForTerminalAsync(id);
        var (_, produced) = await OutputTestKit.ProducedBySimulatorAsync(simulator, prompt);

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal(2_000_000, done["output"]!["bytes"]!.GetValue<long>());
        Assert.Equal(OutputTestKit.Sha256(produced), OutputTestKit.Sha256(await OutputTestKit.DownloadAsync(client, $"/runs/{id}/output")));
    }

    [Fact]
    public async Task A_Gateway_Stopped_Mid_Download_Leaves_No_Output_And_Another_Replica_Finishes_The_Run()
    {
        var root = Path.Combine(Path.GetTempPath(), "kgw-crash-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using var simulator = await GatewayFixture.StartSimulatorAsync(o =>
            {
                o.QueuedSeconds = 0;
                o.RunningSeconds = 0.2;
                o.MinPollIntervalSeconds = 0;
                o.OutputBytes = 1_000_000;
                o.Faults.OutputDripDelayMs = 100;
            });
            using var upstream = new SimulatorClient(simulator);
            var redis = (await RedisServer.Shared).ConnectionString;
            var shared = new Dictionary<string, string?>(FastPolling)
            {
                ["Runs:KeyPrefix"] = $"c{Guid.NewGuid():N}:"[..13],
                ["Outputs:FileSystem:Root"] = root,
                ["Tracking:Lease"] = "00:00:02",
            };

            string id;
            await using (var first = new GatewayFactory(simulator, redis, shared))
            {
                using var client = first.CreateCallerClient();
                id = (await client.SubmitTextToImageAsync("crash " + Guid.NewGuid()))["id"]!.GetValue<string>();
                await WaitUntilAsync(async () => await upstream.RouteCountAsync("GET /cdn/outputs") >= 1);
                Assert.IsType<RedisRunStore>(first.Services.GetRequiredService<IRunStore>());
            }

            // Whatever a stopped download left is a spool in .incoming/, never a file where outputs are served from.
            Assert.DoesNotContain(Directory.GetFiles(root, id + "*", SearchOption.AllDirectories), f => !f.Contains(".incoming", StringComparison.Ordinal));

            simulator.Options.Faults.OutputDripDelayMs = 0;
            await using var second = new GatewayFactory(simulator, redis, shared);
            using var replica = second.CreateCallerClient();
            var done = await replica.WaitForTerminalAsync(id);

            Assert.Equal("completed", done["status"]!.GetValue<string>());
            Assert.Equal(1_000_000, done["output"]!["bytes"]!.GetValue<long>());
            Assert.Equal(done["output"]!["sha256"]!.GetValue<string>(), OutputTestKit.Sha256(await OutputTestKit.DownloadAsync(replica, $"/runs/{id}/output")));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true in time.");
            await Task.Delay(100);
        }
    }
}
