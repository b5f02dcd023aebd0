using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Faults;

/// <summary>Redis stopped for 20 s under load: bounded 503 answers, never a 500 or a hang, full recovery without a restart.</summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("kgw-redis-").FullName;
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(dataDirectory: _dataDirectory);

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Redis_Down_For_Twenty_Seconds_Under_Load_Answers_503_Never_500_And_Recovers_Without_Restart()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 3);
        await using var gateway = new GatewayFactory(simulator, _redis.ConnectionString);
        using var upstream = new SimulatorClient(simulator);
        using var client = gateway.CreateCallerClient();
        // A hung request fails the test: every answer must come well within this.
        client.Timeout = TimeSpan.FromSeconds(15);

        string[] before = await Task.WhenAll(Enumerable.Range(0, 5).Select(async i =>
            (await client.SubmitTextToImageAsync($"before the redis outage {i}"))["id"]!.GetValue<string>()));

        _redis.Kill();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var started = DateTime.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async worker =>
        {
            while (DateTime.UtcNow - started < Outage)
            {
                using var response = worker % 2 == 0
                    ? await client.GetAsync($"/runs/{before[worker % before.Length]}")
                    : await client.SubmitAsync("text-to-image", new { prompt = "during the redis outage" });
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
                    Assert.Equal("store_unavailable", problem["code"]!.GetValue<string>());
                    Assert.NotNull(response.Headers.RetryAfter);
                }

                await Task.Delay(100);
            }
        }));

        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"got {s} while Redis was down"));
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        using (var ready = await client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        _redis = await _redis.RestartAsync();
        var recovered = await client.SubmitUntilAcceptedAsync("after the redis outage", TimeSpan.FromSeconds(30));

        foreach (var id in before.Append(recovered))
        {
            var done = await client.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
        }

        using (var ready = await client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // Nothing submitted while the store was away reached Kimara: a run is recorded before it is paid for.
        Assert.Equal(before.Length + 1, (await upstream.ReceivedAsync()).Count);
    }
}
