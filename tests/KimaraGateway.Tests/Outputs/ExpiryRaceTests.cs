using System.Net;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

public sealed class ExpiryRaceTests
{
    [Fact]
    public async Task Outputs_Stay_Downloadable_And_Identical_Long_After_Kimara_Links_Expire()
    {
        var clock = new JumpingClock();
        await using var simulator = await SimulatorApp.StartAsync(
            o =>
            {
                o.ApiKey = "sim-secret-" + Guid.NewGuid().ToString("N");
                o.QueuedSeconds = 0.3;
                o.RunningSeconds = 1;
                o.OutputUrlLifetimeSeconds = 3;
            },
            services => services.AddSingleton<TimeProvider>(clock));
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString);
        using var client = gateway.CreateCallerClient();
        using var anonymous = gateway.CreateCallerClient(caller: null);
        string[] prompts = [.. Enumerable.Range(1, 4).Select(i => $"expiry race {i} {Guid.NewGuid():N}")];

        var runs = await Task.WhenAll(prompts.Select(p => OutputTestKit.CompleteRunAsync(client, p)));
        var produced = await Task.WhenAll(prompts.Select(p => OutputTestKit.ProducedBySimulatorAsync(simulator, p)));
        clock.Jump(TimeSpan.FromSeconds(30));

        using var kimara = new HttpClient();
        for (var i = 0; i < prompts.Length; i++)
        {
            using var expired = await kimara.GetAsync(produced[i].OutputUrl);
            Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);

            var id = runs[i]["id"]!.GetValue<string>();
            var expected = OutputTestKit.Sha256(produced[i].Bytes);
            Assert.Equal(expected, runs[i]["output"]!["sha256"]!.GetValue<string>());
            Assert.Equal(produced[i].Bytes.Length, runs[i]["output"]!["bytes"]!.GetValue<long>());
            Assert.Equal(expected, OutputTestKit.Sha256(await OutputTestKit.DownloadAsync(client, $"/runs/{id}/output")));

            var fresh = await client.GetRunAsync(id);
            Assert.Equal(expected, OutputTestKit.Sha256(await OutputTestKit.DownloadAsync(anonymous, fresh["output_url"]!.GetValue<string>())));
        }
    }
}
