using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Runs;

public sealed class UpstreamAmplificationTests
{
    [Fact]
    public async Task Fifty_Concurrent_Pollers_For_Ten_Seconds_Cause_At_Most_One_Status_Call_Per_Two_Seconds()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 60);
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString);
        using var upstream = new SimulatorClient(simulator);
        using var client = gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        var upstreamId = (await gateway.Services.GetRequiredService<IRunStore>().GetAsync(id, default))!.UpstreamId!;

        var started = DateTime.UtcNow;
        var window = TimeSpan.FromSeconds(10);
        var reads = 0;
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            while (DateTime.UtcNow - started < window)
            {
                var run = await client.GetRunAsync(id);
                Assert.Equal(id, run["id"]!.GetValue<string>());
                Interlocked.Increment(ref reads);
            }
        }));
        var elapsed = DateTime.UtcNow - started;

        var statusCalls = await upstream.StatusCallsAsync(upstreamId);
        Assert.True(reads > 500, $"only {reads} reads were made");
        Assert.InRange(statusCalls, 1, (int)Math.Ceiling(elapsed.TotalSeconds / 2) + 1);
    }
}
