using System.Net;
using System.Security.Cryptography;
using KimaraGateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace KimaraGateway.Tests.Faults;

/// <summary>
/// A gateway process killed with SIGKILL while runs are active and an output is being re-hosted: another process finishes
/// every run, each with its whole output.
/// </summary>
public sealed class ProcessKillTests
{
    [Fact]
    public async Task A_Replica_Killed_With_Sigkill_Mid_Rehost_Leaves_Every_Run_To_Finish_With_Its_Output_On_The_Next_One()
    {
        // Outputs of 2 MB sent in 16 KB chunks 40 ms apart: a re-host takes seconds, long enough to be killed in the middle.
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => (o.RunningSeconds, o.OutputBytes) = (2, 2_000_000));
        using var upstream = new SimulatorClient(simulator);
        await upstream.SetFaultsAsync(new { target = "output", output_drip_delay_ms = 40 });
        var redis = (await RedisServer.Shared).ConnectionString;
        var prefix = $"k{Guid.NewGuid():N}:"[..12];
        // Short leases so the survivor takes over quickly; what matters is that it does, not how fast.
        var settings = new Dictionary<string, string?> { ["Tracking:Lease"] = "00:00:03", ["Tracking:SubmitTimeout"] = "00:00:05" };

        var first = await GatewayProcess.StartAsync(simulator, redis, prefix, settings);
        string[] ids;
        using (var client = first.CreateCallerClient())
        {
            ids = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i => (await client.SubmitTextToImageAsync($"killed mid-rehost {i}"))["id"]!.GetValue<string>()));
            await WaitUntilAnyRehostingAsync(redis, prefix, ids);
        }

        first.Kill();
        await first.DisposeAsync();
        await upstream.ClearFaultsAsync();

        await using var second = await GatewayProcess.StartAsync(simulator, redis, prefix, settings);
        using var survivor = second.CreateCallerClient();
        using var anonymous = new HttpClient();
        foreach (var id in ids)
        {
            var done = await survivor.WaitForTerminalAsync(id, TimeSpan.FromSeconds(90));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
            var bytes = await anonymous.GetByteArrayAsync(done["output_url"]!.GetValue<string>());
            Assert.Equal(done["output"]!["bytes"]!.GetValue<long>(), bytes.LongLength);
            Assert.Equal(done["output"]!["sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }

        Assert.False(first.Logs.Contains(simulator.ApiKey));
    }

    /// <summary>Waits, reading the shared store as an operator would, until the first replica is downloading an output.</summary>
    private static async Task WaitUntilAnyRehostingAsync(string redis, string prefix, string[] ids)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var db = connection.GetDatabase();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            foreach (var id in ids)
            {
                var json = (string?)await db.HashGetAsync($"{prefix}run:{id}", "j");
                if (json?.Contains("\"stage\":\"rehosting\"", StringComparison.OrdinalIgnoreCase) == true)
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "no run reached the re-host stage");
            await Task.Delay(50);
        }
    }
}
