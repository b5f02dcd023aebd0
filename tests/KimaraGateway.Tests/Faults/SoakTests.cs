using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Faults;

/// <summary>
/// A bounded soak: mixed load on a gateway process with 2% of upstream calls failing. Memory and threads stay flat, no
/// run is lost, and callers see an error only where Kimara's fault reaches them (a submission Kimara refused).
/// </summary>
public sealed class SoakTests
{
    /// <summary>Seconds of load; <c>KGW_SOAK_SECONDS</c> lengthens it (at most 600) for a longer local soak.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(Math.Clamp(
        int.TryParse(Environment.GetEnvironmentVariable("KGW_SOAK_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 60, 20, 600));

    [Fact]
    public async Task Mixed_Load_With_Two_Percent_Upstream_Faults_Keeps_Memory_And_Threads_Flat_And_Loses_No_Run()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 1);
        using var upstream = new SimulatorClient(simulator);
        await using var gateway = await GatewayProcess.StartAsync(simulator, (await RedisServer.Shared).ConnectionString, $"s{Guid.NewGuid():N}:"[..12],
            new Dictionary<string, string?> { ["Tracking:PollBudgetPerSecond"] = "50" });
        using var client = gateway.CreateCallerClient();
        await upstream.SetFaultsAsync(new { error_rate = 0.02, error_status = 503 });

        var accepted = new ConcurrentBag<string>();
        var unexpected = new ConcurrentBag<string>();
        var samples = new ConcurrentQueue<(long Memory, int Threads)>();
        var started = DateTime.UtcNow;
        bool Running() => DateTime.UtcNow - started < Duration;

        var submitters = Enumerable.Range(0, 2).Select(async _ =>
        {
            while (Running())
            {
                using var response = await client.SubmitAsync("text-to-image", new { prompt = "soak" });
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
                }
                else if (!await IsUpstreamRefusalAsync(response))
                {
                    unexpected.Add($"POST /runs {(int)response.StatusCode}");
                }

                await Task.Delay(500);
            }
        });
        var readers = Enumerable.Range(0, 4).Select(async worker =>
        {
            while (Running())
            {
                var ids = accepted.ToArray();
                using var response = ids.Length == 0 || worker == 0
                    ? await client.GetAsync("/runs?limit=20")
                    : await client.GetAsync($"/runs/{ids[Random.Shared.Next(ids.Length)]}");
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    unexpected.Add($"GET {response.RequestMessage!.RequestUri!.AbsolutePath} {(int)response.StatusCode}");
                }

                await Task.Delay(50);
            }
        });
        var sampler = Task.Run(async () =>
        {
            while (Running())
            {
                samples.Enqueue(gateway.Sample());
                await Task.Delay(1000);
            }
        });
        await Task.WhenAll(submitters.Concat(readers).Append(sampler));
        await upstream.ClearFaultsAsync();

        foreach (var id in accepted)
        {
            var done = await client.WaitForTerminalAsync(id, TimeSpan.FromSeconds(90));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
        }

        Assert.Empty(unexpected);
        Assert.True(accepted.Count >= Duration.TotalSeconds, $"only {accepted.Count} runs were accepted");
        // Flat: the last quarter of the soak is no larger than the second quarter plus slack for GC timing; a leak grows without bound.
        var all = samples.ToArray();
        var warm = all.Skip(all.Length / 4).Take(all.Length / 4).ToArray();
        var late = all.Skip(all.Length * 3 / 4).ToArray();
        Assert.True(late.Average(x => x.Memory) <= (warm.Average(x => x.Memory) * 1.3) + (32 << 20),
            $"memory grew from {warm.Average(x => x.Memory) / 1e6:F0} MB to {late.Average(x => x.Memory) / 1e6:F0} MB");
        Assert.True(late.Max(x => x.Threads) <= warm.Max(x => x.Threads) + 16,
            $"threads grew from {warm.Max(x => x.Threads)} to {late.Max(x => x.Threads)}");
    }

    /// <summary>A submission Kimara's injected fault refused: a 502/503 upstream problem, with nothing started.</summary>
    private static async Task<bool> IsUpstreamRefusalAsync(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable))
        {
            return false;
        }

        var code = (await response.Content.ReadFromJsonAsync<JsonObject>())?["code"]?.GetValue<string>();
        return code == "upstream_unavailable";
    }
}
