using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Outputs;

/// <summary>Steps the output tests share: finishing a run through the gateway, and getting the bytes Kimara itself produced.</summary>
internal static class OutputTestKit
{
    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<JsonObject> CompleteRunAsync(HttpClient client, string prompt)
    {
        var submitted = await client.SubmitTextToImageAsync(prompt);
        var run = await client.WaitForTerminalAsync(submitted["id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        return run;
    }

    public static async Task<JsonObject> FailedRunAsync(HttpClient client, string prompt, TimeSpan? timeout = null)
    {
        var submitted = await client.SubmitTextToImageAsync(prompt);
        var run = await client.WaitForTerminalAsync(submitted["id"]!.GetValue<string>(), timeout);
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        return run;
    }

    public static async Task<byte[]> DownloadAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>
    /// Asks the simulator directly (as Kimara's own client would) for a run with exactly the inputs the gateway forwarded
    /// for <paramref name="prompt"/>; the simulator draws the same picture for the same inputs, so these are the bytes the
    /// gateway's copy must equal. Returns the run's Kimara output URL with them.
    /// </summary>
    public static async Task<(Uri OutputUrl, byte[] Bytes)> ProducedBySimulatorAsync(SimulatorServer simulator, string prompt)
    {
        using var upstream = new SimulatorClient(simulator);
        var received = (await upstream.CountersAsync())["received"]!.AsArray()
            .Select(n => n!.AsObject())
            .First(r => r["inputs"]?["prompt"]?.GetValue<string>() == prompt);

        using var kimara = new HttpClient { BaseAddress = simulator.BaseAddress };
        kimara.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", simulator.ApiKey);
        using var posted = await kimara.PostAsJsonAsync("/runs", new JsonObject
        {
            ["app_id"] = received["app_id"]!.GetValue<string>(),
            ["inputs"] = received["inputs"]!.DeepClone(),
        });
        posted.EnsureSuccessStatusCode();
        var id = (await posted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var polled = await kimara.GetAsync($"/runs/{id}");
            if (polled.IsSuccessStatusCode)
            {
                var run = (await polled.Content.ReadFromJsonAsync<JsonObject>())!;
                if (run["status"]!.GetValue<string>() == "completed")
                {
                    var url = new Uri(run["output_url"]!.GetValue<string>());
                    return (url, await kimara.GetByteArrayAsync(url));
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "The simulator did not complete the reference run.");
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.2, simulator.Options.MinPollIntervalSeconds)));
        }
    }
}

/// <summary>Real time plus an offset the test can jump forward: statuses and link expiry stay real, "30 s later" is instant.</summary>
internal sealed class JumpingClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Jump(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
