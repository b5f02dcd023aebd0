using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Faults;

/// <summary>Kimara answering 5xx for 30 s: fast 503s once the circuit is open, last known status served, tracking resumes, nothing lost.</summary>
public sealed class KimaraOutageTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Kimara_Down_For_Thirty_Seconds_Opens_The_Circuit_Serves_Last_Known_Status_And_Loses_No_Run()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 4);
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, new Dictionary<string, string?>
        {
            ["Kimara:AttemptTimeout"] = "00:00:01",
            ["Kimara:TotalTimeout"] = "00:00:03",
            ["Kimara:CircuitBreakDuration"] = "00:00:05",
        });
        using var upstream = new SimulatorClient(simulator);
        using var client = gateway.CreateCallerClient();
        client.Timeout = TimeSpan.FromSeconds(15);

        string[] before = await Task.WhenAll(Enumerable.Range(0, 5).Select(async i =>
            (await client.SubmitTextToImageAsync($"before the outage {i}"))["id"]!.GetValue<string>()));
        await upstream.SetFaultsAsync(new { error_rate = 1.0, error_status = 503 });

        var started = DateTime.UtcNow;
        var submitted = new List<HttpStatusCode>();
        var retryAfterSeen = false;
        while (DateTime.UtcNow - started < Outage)
        {
            using var response = await client.SubmitAsync("text-to-image", new { prompt = "during the outage" });
            submitted.Add(response.StatusCode);
            Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"submission during the outage got {response.StatusCode}");
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal("upstream_unavailable", problem["code"]!.GetValue<string>());
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                retryAfterSeen = true;
            }

            foreach (var id in before)
            {
                var run = await client.GetRunAsync(id);
                Assert.Equal(id, run["id"]!.GetValue<string>());
            }

            await Task.Delay(250);
        }

        var postsDuringOutage = await upstream.PostCountAsync();
        Assert.True(retryAfterSeen, "no submission was answered 503 with Retry-After while Kimara was down");
        // Once the circuit is open, submissions are answered without reaching Kimara at all: no pile-up upstream.
        Assert.True(postsDuringOutage - before.Length < submitted.Count / 2, $"{postsDuringOutage - before.Length} of {submitted.Count} outage submissions reached Kimara");

        await upstream.ClearFaultsAsync();
        var recovered = await client.SubmitUntilAcceptedAsync("after the outage", TimeSpan.FromSeconds(30));

        foreach (var id in before.Append(recovered))
        {
            var done = await client.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal("completed", done["status"]!.GetValue<string>());
        }

        // Every accepted run reached Kimara exactly once; no outage submission started one.
        var received = await upstream.ReceivedAsync();
        Assert.Equal(before.Length + 1, received.Count);
    }
}
