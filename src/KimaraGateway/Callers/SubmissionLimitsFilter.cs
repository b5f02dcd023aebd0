using System.Globalization;
using System.Text.Json;
using KimaraGateway.Hosting;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>
/// The limits on starting runs, which the rate-limiting middleware cannot apply (they outlive a request or depend on the
/// body): concurrent active runs, runs per day, runs per day of the App. Every submission that reaches this filter counts
/// against the daily quotas; a replayed idempotent retry never reaches it.
/// </summary>
public sealed class SubmissionLimitsFilter(
    CallerLimits callerLimits,
    CallerRateLimiters limiters,
    ActiveRunSlots slots,
    IOptions<TrackingOptions> tracking) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var callerId = http.User.GetCallerId();
        var limits = callerLimits.For(http.User);
        var cancellationToken = http.RequestAborted;

        string? ticket = null;
        if (limits.ConcurrentRuns > 0)
        {
            ticket = await slots.TryReserveAsync(callerId, limits.ConcurrentRuns, cancellationToken);
            if (ticket is null)
            {
                return RejectConcurrent(limits.ConcurrentRuns);
            }
        }

        try
        {
            var appLimit = limits.RunsPerDayPerApp.Count > 0 ? CallerRateLimiters.RunsPerDayOfApp(limits, await ReadAppIdAsync(http.Request)) : null;
            foreach (var quota in new[] { CallerRateLimiters.RunsPerDay(limits), appLimit })
            {
                if (quota is not { Limit: > 0 })
                {
                    continue;
                }

                using var lease = await limiters.AcquireAsync(callerId, quota, cancellationToken);
                if (!lease.IsAcquired)
                {
                    return new RejectedResult(quota, CallerRateLimiters.RetryAfterOf(lease, quota));
                }
            }

            var result = await next(context);
            if (ticket is not null)
            {
                await (AcceptedRunId(result) is { } runId ? slots.BindAsync(callerId, ticket, runId) : slots.ReleaseAsync(callerId, ticket));
                ticket = null;
            }

            return result;
        }
        finally
        {
            if (ticket is not null)
            {
                await slots.ReleaseAsync(callerId, ticket);
            }
        }
    }

    // Nothing says when a run ends; the tracker's poll interval is when the count can first have moved.
    private RejectedResult RejectConcurrent(int limit) =>
        new(new LimitWindow("concurrent-runs", limit, TimeSpan.Zero), tracking.Value.PollInterval, Concurrent: true);

    private static string? AcceptedRunId(object? result)
    {
        var inner = result is INestedHttpResult nested ? nested.Result : result;
        return inner is Accepted<RunResponse> accepted ? accepted.Value?.Id : null;
    }

    /// <summary>The App of the submission, read from the (buffered) body without consuming it.</summary>
    private static async Task<string?> ReadAppIdAsync(HttpRequest request)
    {
        // POST /apps/{appId}/runs names the App in its path.
        if (request.RouteValues["appId"] is string routeApp)
        {
            return routeApp;
        }

        if (request.HasFormContentType)
        {
            // Buffered and rewound, so the handler's own streaming reader still sees the whole body.
            request.EnableBuffering();
            try
            {
                var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
                return form["app_id"].ToString() is { Length: > 0 } formApp ? formApp : null;
            }
            finally
            {
                request.Body.Position = 0;
            }
        }

        if (!request.HasJsonContentType())
        {
            return null;
        }

        request.EnableBuffering();
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("app_id", out var app) && app.ValueKind == JsonValueKind.String
                ? app.GetString()
                : null;
        }
        catch (JsonException)
        {
            // The handler answers a malformed body with its own precise 400.
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    private sealed record RejectedResult(LimitWindow Limit, TimeSpan RetryAfter, bool Concurrent = false) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            // Per-App limits exist only for Apps the configuration names, so the policy tag stays bounded.
            httpContext.RequestServices.GetRequiredService<GatewayMetrics>().RateLimitRejected(Limit.Name);
            if (!Concurrent)
            {
                return RateLimitRejection.WriteAsync(httpContext, Limit, RetryAfter);
            }

            RateLimitRejection.AddHeaders(httpContext, Limit.Name, Limit.Limit, null, RetryAfter, "concurrent-requests");
            return Problems.WriteAsync(httpContext, StatusCodes.Status429TooManyRequests, Problems.RateLimited,
                $"Limit 'concurrent-runs' reached: {Limit.Limit.ToString(CultureInfo.InvariantCulture)} runs are still queued or running; try again when one has ended.");
        }
    }
}
