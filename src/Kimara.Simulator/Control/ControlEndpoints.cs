using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Kimara.Simulator.Faults;
using Kimara.Simulator.Runs;

namespace Kimara.Simulator.Control;

/// <summary>
/// Test and benchmark controls under <c>/_sim</c>. They have no authentication: never expose a simulator
/// beyond loopback or a private test network.
/// </summary>
internal static class ControlEndpoints
{
    private static readonly JsonSerializerOptions StrictJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static IEndpointRouteBuilder MapSimulatorControl(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/_sim").ExcludeFromDescription();
        group.MapGet("/faults", (SimulatorOptions options) => TypedResults.Ok(options.Faults)).WithName("GetFaults");
        group.MapPut("/faults", PutFaults).WithName("PutFaults");
        group.MapGet("/counters", (SimulatorState state) => TypedResults.Ok(state.Snapshot())).WithName("GetCounters");
        group.MapPost("/reset", Reset).WithName("Reset");
        group.MapPut("/options", PutOptions).WithName("PutOptions");
        return app;
    }

    private static async Task<IResult> PutFaults(HttpRequest request, SimulatorOptions options)
    {
        var (faults, problem) = await ReadAsync<FaultOptions>(request);
        if (faults is null)
            return problem!;
        if (!FaultInjection.IsValidTarget(faults.Target))
            return Invalid("'target' must be one of all, post, get, output.");
        if (faults.ErrorStatus is < 400 or > 599)
            return Invalid("'error_status' must be an HTTP error status (400-599).");
        if (faults.OutputRedirectTo is { } redirect && !Uri.TryCreate(redirect, UriKind.Absolute, out _))
            return Invalid("'output_redirect_to' must be an absolute URL.");

        // Swapping the whole object keeps each request's view of the faults consistent.
        options.Faults = faults;
        return TypedResults.Ok(faults);
    }

    private static NoContent Reset(SimulatorOptions options, SimulatorState state)
    {
        state.Reset();
        options.Faults = new FaultOptions();
        return TypedResults.NoContent();
    }

    private static async Task<IResult> PutOptions(HttpRequest request, SimulatorOptions options)
    {
        var (update, problem) = await ReadAsync<TimingUpdate>(request);
        if (update is null)
            return problem!;
        double?[] durations = [update.QueuedSeconds, update.RunningSeconds, update.OutputUrlLifetimeSeconds, update.MinPollIntervalSeconds];
        if (durations.Any(d => d is < 0 || d is { } value && !double.IsFinite(value)) || update.OutputBytes is < 0)
            return Invalid("Durations and output_bytes must be zero or more.");

        options.QueuedSeconds = update.QueuedSeconds ?? options.QueuedSeconds;
        options.RunningSeconds = update.RunningSeconds ?? options.RunningSeconds;
        options.OutputUrlLifetimeSeconds = update.OutputUrlLifetimeSeconds ?? options.OutputUrlLifetimeSeconds;
        options.MinPollIntervalSeconds = update.MinPollIntervalSeconds ?? options.MinPollIntervalSeconds;
        options.OutputBytes = update.OutputBytes ?? options.OutputBytes;
        return TypedResults.Ok(new TimingUpdate(options.QueuedSeconds, options.RunningSeconds,
            options.OutputUrlLifetimeSeconds, options.MinPollIntervalSeconds, options.OutputBytes));
    }

    private static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, StrictJson, request.HttpContext.RequestAborted);
            return value is null ? (null, Invalid("The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Invalid(ex.Message));
        }
    }

    private static JsonHttpResult<ErrorResponse> Invalid(string message) =>
        ApiResponses.Error(StatusCodes.Status400BadRequest, "invalid_request", message);
}

/// <summary>Body of <c>PUT /_sim/options</c>: any subset of the timing options.</summary>
internal sealed record TimingUpdate(
    double? QueuedSeconds, double? RunningSeconds, double? OutputUrlLifetimeSeconds, double? MinPollIntervalSeconds, int? OutputBytes);
