using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>The documented caller flow, for tests: submit, then poll the gateway until the run ends.</summary>
public static class RunsClientExtensions
{
    public static Task<HttpResponseMessage> SubmitAsync(this HttpClient client, string appId, object inputs) =>
        client.PostAsJsonAsync("/runs", new { app_id = appId, inputs });

    public static async Task<JsonObject> SubmitTextToImageAsync(this HttpClient client, string prompt = "a beautiful landscape at sunset")
    {
        using var response = await client.SubmitAsync("text-to-image", new { prompt });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    public static async Task<JsonObject> GetRunAsync(this HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/runs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Polls the gateway (not Kimara) until the run is completed or failed.</summary>
    public static async Task<JsonObject> WaitForTerminalAsync(this HttpClient client, string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var run = await client.GetRunAsync(id);
            if (run["status"]!.GetValue<string>() is "completed" or "failed")
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Run {id} is still {run["status"]} after the timeout.");
            await Task.Delay(200);
        }
    }

    /// <summary>Submits until the gateway accepts (after an outage, say), failing the test at <paramref name="timeout"/>.</summary>
    public static async Task<string> SubmitUntilAcceptedAsync(this HttpClient client, string prompt, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await client.SubmitAsync("text-to-image", new { prompt });
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
            }

            Assert.True(DateTime.UtcNow < deadline, $"submissions still fail ({response.StatusCode}) after the outage ended");
            await Task.Delay(500);
        }
    }
}
