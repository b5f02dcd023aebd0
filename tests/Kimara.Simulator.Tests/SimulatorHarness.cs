using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Kimara.Simulator.Tests;

/// <summary>A simulator on a real loopback port with a fake clock and an authorised client; one per test.</summary>
public sealed class SimulatorHarness : IAsyncDisposable
{
    private SimulatorHarness(SimulatorServer server, FakeTimeProvider clock)
    {
        Server = server;
        Clock = clock;
        Client = new HttpClient { BaseAddress = server.BaseAddress };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
        Anonymous = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public SimulatorServer Server { get; }

    public FakeTimeProvider Clock { get; }

    /// <summary>Sends the simulator's API key.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends no key (the CDN and control routes need none).</summary>
    public HttpClient Anonymous { get; }

    public static async Task<SimulatorHarness> StartAsync(Action<SimulatorOptions>? configure = null)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var server = await SimulatorApp.StartAsync(
            configure, services => services.AddSingleton<TimeProvider>(clock));
        return new SimulatorHarness(server, clock);
    }

    public Task<HttpResponseMessage> PostRunAsync(string appId, object inputs) =>
        Client.PostAsJsonAsync("runs", new Dictionary<string, object> { ["app_id"] = appId, ["inputs"] = inputs });

    public Task<HttpResponseMessage> PostRawAsync(string json) =>
        Client.PostAsync("runs", new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Submits a valid text-to-image run and returns its id.</summary>
    public async Task<string> CreateRunAsync(string prompt = "a lighthouse at dusk", object? extra = null)
    {
        var inputs = new Dictionary<string, object> { ["prompt"] = prompt };
        if (extra is not null)
        {
            foreach (var property in JsonSerializer.SerializeToElement(extra).EnumerateObject())
                inputs[property.Name] = property.Value;
        }

        using var response = await PostRunAsync("text-to-image", inputs);
        response.EnsureSuccessStatusCode();
        return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
    }

    /// <summary>Moves the clock past the run's whole timeline and returns the completed run.</summary>
    public async Task<JsonElement> CompleteRunAsync(string runId)
    {
        Clock.Advance(TimeSpan.FromSeconds(Server.Options.QueuedSeconds + Server.Options.RunningSeconds + 1));
        using var response = await Client.GetAsync($"runs/{runId}");
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public async Task<JsonElement> CountersAsync()
    {
        using var response = await Anonymous.GetAsync("_sim/counters");
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }

    public async Task PutFaultsAsync(string json)
    {
        using var response = await Anonymous.PutAsync("_sim/faults", new StringContent(json, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        await Server.DisposeAsync();
    }
}
