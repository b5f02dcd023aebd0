using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>Reads the simulator's call counters and sets its faults over HTTP, as an outside observer of what the gateway sent upstream.</summary>
public sealed class SimulatorClient(SimulatorServer simulator) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = simulator.BaseAddress };

    public async Task<JsonObject> CountersAsync() =>
        (await _http.GetFromJsonAsync<JsonObject>("/_sim/counters"))!;

    public async Task<int> RouteCountAsync(string route) =>
        (await CountersAsync())["routes"]?[route]?.GetValue<int>() ?? 0;

    public Task<int> PostCountAsync() => RouteCountAsync("POST /runs");

    /// <summary>Status calls the simulator received for one upstream run id.</summary>
    public async Task<int> StatusCallsAsync(string upstreamRunId) =>
        (await CountersAsync())["runs"]?[upstreamRunId]?["status_calls"]?.GetValue<int>() ?? 0;

    /// <summary>When the simulator received each status call for one upstream run id, oldest first.</summary>
    public async Task<IReadOnlyList<DateTime>> StatusCallTimesAsync(string upstreamRunId) =>
        [.. ((await CountersAsync())["runs"]?[upstreamRunId]?["status_call_times"] as JsonArray ?? []).Select(n => n!.GetValue<DateTime>()).Order()];

    /// <summary>The inputs of every run the simulator accepted, in order.</summary>
    public async Task<IReadOnlyList<JsonObject>> ReceivedAsync() =>
        [.. ((await CountersAsync())["received"] as JsonArray ?? []).Select(n => n!.AsObject())];

    public async Task SetFaultsAsync(object faults)
    {
        using var response = await _http.PutAsJsonAsync("/_sim/faults", faults, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        response.EnsureSuccessStatusCode();
    }

    public Task ClearFaultsAsync() => SetFaultsAsync(new { });

    public void Dispose() => _http.Dispose();
}
