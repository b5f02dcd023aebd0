using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using KimaraGateway.Hosting;
using KimaraGateway.Outputs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// <c>GET /runs/{id}/events</c>: Server-Sent Events. A snapshot on connect (or, with <c>Last-Event-ID</c>, every change
/// after it), one <c>status</c> event per change with the run version as id, heartbeat comments, and the end of the
/// stream after a terminal status.
/// </summary>
public static class RunEvents
{
    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StreamAsync(
        string id,
        HttpContext context,
        ClaimsPrincipal user,
        RunReader reader,
        RunChangeHub hub,
        IRunStore store,
        RunRecordCache cache,
        OutputLinks links,
        TimeProvider time,
        IOptions<TrackingOptions> options,
        IHostApplicationLifetime lifetime,
        GatewayMetrics metrics,
        CancellationToken cancellationToken)
    {
        var run = await reader.GetOwnedAsync(id, user, "GET /runs/{id}/events", cancellationToken);
        if (run is null)
        {
            return RunsApi.RunNotFound();
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var token = stopping.Token;
        using var subscription = hub.Subscribe(id);
        using var subscriber = metrics.SseSubscribed();

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(token);

        var resumeFrom = LastEventId(context.Request);
        try
        {
            // Re-read after subscribing: a change published in between is then either in this read or in the channel.
            run = await store.GetAsync(id, token) ?? run;

            // An id this run never had (another run's, or from a store that was reset) cannot be resumed from: start over.
            var sent = resumeFrom is { } last && last <= run.Version ? last : 0;
            sent = await WriteChangesAsync(response, context, links, run, sent, snapshot: sent == 0, token);
            while (!run.IsTerminal)
            {
                using var silence = new CancellationTokenSource(options.Value.EventHeartbeat, time);
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(token, silence.Token);
                RunChange change;
                try
                {
                    change = await subscription.Changes.ReadAsync(wake.Token);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    await response.WriteAsync(": heartbeat\n\n", token);
                    await response.Body.FlushAsync(token);
                    continue;
                }

                // Shared by every stream on this replica that the same change woke: one store read per change.
                if (await cache.GetAsync(id, change.Version, token) is not { } current)
                {
                    // Expired or removed: nothing more will happen to it.
                    break;
                }

                run = current;
                sent = await WriteChangesAsync(response, context, links, run, sent, snapshot: false, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client left or the server is stopping; the client resumes with Last-Event-ID.
        }

        return TypedResults.Empty;
    }

    private static long? LastEventId(HttpRequest request) =>
        long.TryParse(request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var last) && last > 0 ? last : null;

    /// <summary>Writes every transition newer than <paramref name="sent"/> (or just the current state for a snapshot).</summary>
    private static async Task<long> WriteChangesAsync(HttpResponse response, HttpContext context, OutputLinks links, RunRecord run, long sent, bool snapshot, CancellationToken token)
    {
        if (snapshot)
        {
            await WriteEventAsync(response, run.Version, RunsApi.ToResponse(run, context, links), token);
            return run.Version;
        }

        foreach (var transition in run.History.Where(t => t.Version > sent))
        {
            var body = transition.Version == run.Version
                ? RunsApi.ToResponse(run, context, links)
                : new RunResponse { Id = run.Id, AppId = run.AppId, Status = transition.Status, CreatedAt = run.CreatedAt, UpdatedAt = transition.At };
            await WriteEventAsync(response, transition.Version, body, token);
            sent = transition.Version;
        }

        return Math.Max(sent, run.Version);
    }

    private static async Task WriteEventAsync(HttpResponse response, long version, RunResponse body, CancellationToken token)
    {
        var json = JsonSerializer.Serialize(body, JsonDefaults.Options);
        await response.WriteAsync($"id: {version.ToString(CultureInfo.InvariantCulture)}\nevent: status\ndata: {json}\n\n", token);
        await response.Body.FlushAsync(token);
    }
}
