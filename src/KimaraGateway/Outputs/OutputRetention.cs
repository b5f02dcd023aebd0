using KimaraGateway.Runs;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>
/// Deletes stored outputs together with their run: an output older than the run retention (<c>Runs:Retention</c>) whose run
/// record has expired from the run store is removed, as are spool files a crashed process left behind. One replica sweeps
/// at a time (a store lock); a sweep interrupted anywhere is simply done again.
/// </summary>
public sealed partial class OutputRetention(
    IOutputStore outputs,
    IRunStore runs,
    TimeProvider time,
    IOptions<OutputsOptions> options,
    IOptions<RunStoreOptions> runOptions,
    ILogger<OutputRetention> logger) : BackgroundService
{
    private const string LockName = "outputs:retention";
    private static readonly TimeSpan AbandonedSpoolAge = TimeSpan.FromDays(1);
    private readonly string _owner = "retention:" + Guid.NewGuid().ToString("N");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RetentionSweepInterval;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                if (await runs.TryLockAsync(LockName, _owner, interval, stoppingToken))
                {
                    await SweepAsync(time.GetUtcNow() - runOptions.Value.Retention, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Deletes outputs stored before <paramref name="storedBefore"/> whose run no longer exists; returns how many.</summary>
    public async Task<int> SweepAsync(DateTimeOffset storedBefore, CancellationToken cancellationToken)
    {
        var deleted = 0;
        await foreach (var entry in outputs.ListAsync(cancellationToken))
        {
            if (entry.StoredAt < storedBefore && await runs.GetAsync(entry.RunId, cancellationToken) is null)
            {
                await outputs.DeleteAsync(entry.RunId, cancellationToken);
                deleted++;
            }
        }

        await outputs.PurgeAbandonedSpoolsAsync(time.GetUtcNow() - AbandonedSpoolAge, cancellationToken);
        if (deleted > 0)
        {
            LogSwept(logger, deleted);
        }

        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output retention deleted {Count} outputs whose runs have expired")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output retention sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
