using KimaraGateway.Hosting;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// Runs on every replica: claims due runs from the store under a lease (so each run is polled by one replica at a
/// time, and by another when this one dies) and polls them within the deployment-wide budget.
/// </summary>
public sealed partial class RunTracker(
    IRunStore store,
    RunPoller poller,
    TimeProvider time,
    IOptions<TrackingOptions> options,
    GatewayMetrics metrics,
    ILogger<RunTracker> logger) : BackgroundService
{
    /// <summary>Identifies this replica's leases.</summary>
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<DueRun> claimed = [];
            try
            {
                var now = time.GetUtcNow();
                claimed = await store.ClaimDueAsync(now, Owner, o.Lease, o.BatchSize, o.PollBudgetPerSecond, stoppingToken);
                foreach (var run in claimed)
                {
                    metrics.TrackerLag(now - run.Due);
                }

                await Task.WhenAll(claimed.Select(run => PollOneAsync(run.Id, stoppingToken)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store being down must not end tracking: claimed leases expire and the runs come due again.
                LogTrackerError(logger, ex);
            }

            if (claimed.Count < o.BatchSize)
            {
                try
                {
                    await Task.Delay(o.Tick, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task PollOneAsync(string runId, CancellationToken cancellationToken)
    {
        try
        {
            await poller.PollAsync(runId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPollError(logger, runId, ex);
        }
        finally
        {
            await store.ReleaseAsync(RunPoller.LeaseName(runId), Owner, CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tracking:Enabled is false: this replica serves reads only and polls no runs")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run tracker cycle failed")]
    private static partial void LogTrackerError(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Polling run {RunId} failed")]
    private static partial void LogPollError(ILogger logger, string runId, Exception exception);
}
