using System.Globalization;
using System.Security.Cryptography;
using Kimara.Simulator.Runs;

namespace Kimara.Simulator.Faults;

/// <summary>
/// Applies <see cref="FaultOptions"/> to the simulated Kimara routes, in a fixed order:
/// 429 storm, latency, hang, reset, error status, malformed body.
/// Delays are wall-clock on purpose: they imitate the network, which a fake clock does not drive.
/// </summary>
internal static class FaultInjection
{
    public static IApplicationBuilder UseSimulatedFaults(this IApplicationBuilder app) => app.Use(InvokeAsync);

    private static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<SimRoute>();
        var faults = context.RequestServices.GetRequiredService<SimulatorOptions>().Faults;
        if (route is null || !Targets(faults.Target, route.FaultTarget))
        {
            await next(context);
            return;
        }

        var response = context.Response;
        if (faults.Storm429)
        {
            response.Headers.RetryAfter = faults.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await ApiResponses.Error(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests (simulated storm).")
                .ExecuteAsync(context);
            return;
        }

        try
        {
            if (faults.LatencyMs > 0)
                await Task.Delay(faults.LatencyMs, context.RequestAborted);

            if (Roll(faults.HangRate))
            {
                var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                using var hang = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
                await Task.Delay(Timeout.Infinite, hang.Token);
            }
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return;
        }

        if (Roll(faults.ResetRate))
        {
            context.Abort();
            return;
        }

        if (Roll(faults.ErrorRate))
        {
            await ApiResponses.Error(faults.ErrorStatus, "server_error", $"Simulated upstream error {faults.ErrorStatus}.")
                .ExecuteAsync(context);
            return;
        }

        if (Roll(faults.MalformedRate))
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            await response.WriteAsync("{\"id\": \"run_", context.RequestAborted);
            return;
        }

        await next(context);
    }

    public static bool IsValidTarget(string target) => target is "all" or "post" or "get" or "output";

    private static bool Targets(string configured, string route) =>
        string.Equals(configured, "all", StringComparison.OrdinalIgnoreCase)
        || string.Equals(configured, route, StringComparison.OrdinalIgnoreCase);

    private static bool Roll(double rate) =>
        rate > 0 && (rate >= 1 || RandomNumberGenerator.GetInt32(1_000_000) < rate * 1_000_000);
}

/// <summary>Counts every request on the simulated routes before any fault or auth check can answer it.</summary>
internal static class RequestCounting
{
    public static IApplicationBuilder UseRequestCounting(this IApplicationBuilder app) => app.Use(InvokeAsync);

    private static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<SimRoute>();
        if (route is null)
        {
            await next(context);
            return;
        }

        var state = context.RequestServices.GetRequiredService<SimulatorState>();
        state.CountRoute(route.CounterKey);
        if (route.RunIdRouteValue is { } key && context.GetRouteValue(key) is string runId && state.TryGet(runId, out var run))
        {
            if (route.FaultTarget == "get")
                run.CountStatusCall(context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
            else
                run.CountOutputCall();
        }

        try
        {
            await next(context);
        }
        finally
        {
            if (route.FaultTarget == "post" && !context.Items.ContainsKey(RunsEndpoints.RunCreatedItem))
                state.CountRejectedPost();
        }
    }
}
