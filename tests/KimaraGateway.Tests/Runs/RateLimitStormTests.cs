using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Runs;

/// <summary>Kimara answering every status poll with 429: the tracker waits out Retry-After, callers keep the last known status.</summary>
public sealed class RateLimitStormTests
{
    private const int RetryAfterSeconds = 3;

    [Fact]
    public async Task During_A_429_Storm_No_Poll_Comes_Before_Retry_After_And_Callers_Keep_The_Last_Status()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 30);
        using var upstream = new SimulatorClient(simulator);
        // A staleness bound far below Retry-After: reads must still not poll Kimara before it allows.
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString,
            new Dictionary<string, string?> { ["Tracking:StaleAfter"] = "00:00:01" });
        using var client = gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        await WaitForStatusAsync(client, id, "running");
        var upstreamId = (await gateway.Services.GetRequiredService<KimaraGateway.Runs.IRunStore>().GetAsync(id, default))!.UpstreamId!;

        await upstream.SetFaultsAsync(new { storm429 = true, retryAfterSeconds = RetryAfterSeconds, target = "get" });
        // Taken once the storm is on, so every status call counted from here on was answered 429.
        var stormStart = DateTime.UtcNow;
        var reads = 0;
        while (DateTime.UtcNow - stormStart < TimeSpan.FromSeconds(RetryAfterSeconds * 2.5))
        {
            // GetRunAsync asserts 200: the storm is never the caller's error.
            var run = await client.GetRunAsync(id);
            Assert.Equal("running", run["status"]!.GetValue<string>());
            reads++;
            await Task.Delay(100);
        }

        await upstream.ClearFaultsAsync();

        var stormCalls = (await upstream.StatusCallTimesAsync(upstreamId)).Where(t => t >= stormStart).ToList();
        Assert.True(stormCalls.Count >= 2, $"Expected polls during the storm, saw {stormCalls.Count}.");
        var gaps = stormCalls.Zip(stormCalls.Skip(1), (earlier, later) => later - earlier);
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromSeconds(RetryAfterSeconds), $"A poll came {gap} after a 429 asking for {RetryAfterSeconds} s."));
        Assert.True(reads > 10);
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
}
