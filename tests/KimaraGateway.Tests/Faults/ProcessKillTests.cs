using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Faults;

/// <summary>A gateway process killed with SIGKILL while runs are active: another process finishes every run.</summary>
public sealed class ProcessKillTests
{
    [Fact]
    public async Task A_Replica_Killed_With_Sigkill_Mid_Run_Leaves_Every_Run_To_Finish_On_The_Next_One()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 3);
        var redis = (await RedisServer.Shared).ConnectionString;
        var prefix = $"k{Guid.NewGuid():N}:"[..12];
        // Short leases so the survivor takes over quickly; what matters is that it does, not how fast.
        var settings = new Dictionary<string, string?> { ["Tracking:Lease"] = "00:00:03", ["Tracking:SubmitTimeout"] = "00:00:05" };

        var first = await GatewayProcess.StartAsync(simulator, redis, prefix, settings);
        string[] ids;
        using (var client = first.CreateCallerClient())
        {
            ids = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i => (await client.SubmitTextToImageAsync($"killed mid-run {i}"))["id"]!.GetValue<string>()));
            await WaitUntilAnyRunningAsync(client, ids);
        }

        first.Kill();
        await first.DisposeAsync();

        await using var second = await GatewayProcess.StartAsync(simulator, redis, prefix, settings);
        using var survivor = second.CreateCallerClient();
        foreach (var id in ids)
        {
            var done = await survivor.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
        }

        Assert.False(first.Logs.Contains(simulator.ApiKey));
    }

    private static async Task WaitUntilAnyRunningAsync(HttpClient client, IEnumerable<string> ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            foreach (var id in ids)
            {
                if ((await client.GetRunAsync(id))["status"]!.GetValue<string>() == "running")
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "no run started running");
            await Task.Delay(100);
        }
    }
}
