using System.Security.Claims;
using KimaraGateway.Callers;
using KimaraGateway.Hosting;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// Reads runs for callers: ownership first (another caller's run is indistinguishable from a missing one), served from the
/// store; only a run the tracker has fallen behind on is refreshed from Kimara, once, under the run's lease.
/// </summary>
public sealed partial class RunReader(
    IRunStore store,
    RunRecordCache cache,
    RunPoller poller,
    RunChangeHub changes,
    TimeProvider time,
    IOptions<TrackingOptions> options,
    GatewayMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<RunReader> logger)
{
    private readonly string _owner = "read:" + Guid.NewGuid().ToString("N");

    /// <summary>The caller's run, or null; <paramref name="route"/> (a route template) tags a read served without Kimara.</summary>
    public async Task<RunRecord?> GetOwnedAsync(string id, ClaimsPrincipal user, string route, CancellationToken cancellationToken)
    {
        if (!RunIds.IsWellFormed(id))
        {
            return null;
        }

        var run = await cache.GetAsync(id, 0, cancellationToken);
        if (run is null || run.CallerId != user.GetCallerId())
        {
            return null;
        }

        if (await IsStaleAsync(run, cancellationToken) && await RefreshAsync(run, cancellationToken) is { } refreshed)
        {
            return refreshed;
        }

        metrics.CacheServedRead(route);
        return run;
    }

    /// <summary>
    /// Waits until the run's version moves past <paramref name="run"/>'s, or <paramref name="timeout"/> passes, or the
    /// replica starts stopping (a long poll must not hold up a shutdown; the caller just asks again elsewhere).
    /// </summary>
    public async Task<RunRecord?> WaitForChangeAsync(RunRecord run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var subscription = changes.Subscribe(run.Id);
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token, lifetime.ApplicationStopping);

        // A change published between the caller's read and the subscription is caught by reading again.
        var current = await store.GetAsync(run.Id, cancellationToken);
        try
        {
            while (current is not null && current.Version == run.Version)
            {
                var change = await subscription.Changes.ReadAsync(linked.Token);
                current = await cache.GetAsync(run.Id, change.Version, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return current;
    }

    /// <summary>Time until the tracker's next poll of the run, when asking again can first be useful.</summary>
    public async Task<TimeSpan> NextUsefulPollAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var due = await store.GetDueAsync(run.Id, cancellationToken);
        var wait = due is { } d ? d - time.GetUtcNow() : options.Value.PollInterval;
        return wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
    }

    /// <summary>
    /// The tracker is behind when it has not heard from Kimara for longer than the staleness bound and the run's poll is
    /// overdue (or it fell out of the active set). A run the tracker deliberately put off (Kimara's Retry-After) is not
    /// behind: refreshing it would poll Kimara before it asked.
    /// </summary>
    private async Task<bool> IsStaleAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (run is not { IsTerminal: false, Stage: RunStage.Tracking } || now - (run.LastPolledAt ?? run.CreatedAt) <= options.Value.StaleAfter)
        {
            return false;
        }

        var due = await store.GetDueAsync(run.Id, cancellationToken);
        return due is null || due <= now;
    }

    /// <summary>The run after an on-demand poll, or null when another poller holds the lease or the budget is spent.</summary>
    private async Task<RunRecord?> RefreshAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var lease = RunPoller.LeaseName(run.Id);
        // The same lease the tracker claims (whoever holds it polls, everyone else reads what it wrote), and a poll of the
        // same budget: reads of lagging runs never push Kimara past it.
        var o = options.Value;
        if (!await store.TryClaimAsync(run.Id, time.GetUtcNow(), _owner, o.Lease, o.PollBudgetPerSecond, cancellationToken))
        {
            return null;
        }

        try
        {
            await poller.PollAsync(run.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The refresh is a courtesy to the caller, who still gets the last known status; the tracker tries again.
            LogRefreshFailed(logger, run.Id, ex);
            return null;
        }
        finally
        {
            await store.ReleaseAsync(lease, _owner, CancellationToken.None);
        }

        return await store.GetAsync(run.Id, cancellationToken) ?? run;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "On-demand refresh of run {RunId} failed")]
    private static partial void LogRefreshFailed(ILogger logger, string runId, Exception exception);
}
