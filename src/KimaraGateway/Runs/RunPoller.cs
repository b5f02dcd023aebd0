using KimaraGateway.Hosting;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// Polls Kimara for one run whose lease the caller holds, writes what changed and schedules the next poll.
/// Used by the tracker for due runs and by reads for a run the tracker has fallen behind on.
/// </summary>
public sealed partial class RunPoller(
    IRunStore store,
    KimaraClient kimara,
    IRunCompletion completion,
    TimeProvider time,
    IOptions<TrackingOptions> options,
    GatewayMetrics metrics,
    ILogger<RunPoller> logger)
{
    /// <summary>Added past Kimara's <c>Retry-After</c>, so clock skew or rounding never makes the next poll early.</summary>
    internal static readonly TimeSpan RetryAfterMargin = TimeSpan.FromMilliseconds(100);

    /// <summary>Lease name under which a run is polled; the tracker's claim takes the same one.</summary>
    public static string LeaseName(string runId) => RedisRunStore.RunLeasePrefix + runId;

    public async Task PollAsync(string runId, CancellationToken cancellationToken)
    {
        var run = await store.GetAsync(runId, cancellationToken);
        if (run is null || run.IsTerminal)
        {
            // Expired or finished elsewhere: the active set must not keep it.
            await store.UnscheduleAsync(runId, cancellationToken);
            return;
        }

        var now = time.GetUtcNow();
        switch (run.Stage)
        {
            case RunStage.Submitting:
                await SweepSubmissionAsync(run, now, cancellationToken);
                return;
            case RunStage.Rehosting:
                await SaveAsync(run, await completion.CompleteAsync(run, cancellationToken), now, cancellationToken);
                return;
        }

        var upstream = await kimara.GetRunAsync(run.UpstreamId!, cancellationToken);
        now = time.GetUtcNow();
        switch (upstream.Outcome)
        {
            case UpstreamOutcome.Ok:
                var next = Observe(run, upstream.Run!, now);
                if (next.Stage == RunStage.Rehosting)
                {
                    // Record that Kimara finished before fetching the output, so a restart resumes the re-host.
                    if (!await store.TryUpdateAsync(next, run.Version, cancellationToken))
                    {
                        await store.ScheduleAsync(run.Id, now + Cadence(run, now), cancellationToken);
                        return;
                    }

                    run = next;
                    next = await completion.CompleteAsync(next, cancellationToken);
                }

                await SaveAsync(run, next, time.GetUtcNow(), cancellationToken);
                return;
            case UpstreamOutcome.NotFound:
                await SaveAsync(run, run.Fail(RunErrorCodes.UpstreamRunMissing, "Kimara no longer knows this run.", now), now, cancellationToken);
                return;
            case UpstreamOutcome.RateLimited:
                var wait = NotBefore(upstream.RetryAfter, Cadence(run, now));
                // A margin past Retry-After, so clock skew never makes the next poll early.
                await store.ScheduleAsync(run.Id, now + wait + RetryAfterMargin, cancellationToken);
                LogRateLimited(logger, run.Id, wait);
                return;
            default:
                // Unavailable (5xx, circuit open, unreachable): the record keeps the last known status for readers.
                await store.ScheduleAsync(run.Id, now + NotBefore(upstream.RetryAfter, Cadence(run, now)), cancellationToken);
                return;
        }
    }

    /// <summary>The run as Kimara now reports it; the version moves only when the status a caller sees moves.</summary>
    private static RunRecord Observe(RunRecord run, KimaraRun upstream, DateTimeOffset now)
    {
        run = run with { LastPolledAt = now };
        return upstream.Status switch
        {
            "queued" => run,
            "running" when run.Status == RunStatus.Queued => run.Advance(RunStatus.Running, now),
            "running" => run,
            "completed" => (run.Status == RunStatus.Running ? run : run.Advance(RunStatus.Running, now)) with
            {
                Stage = RunStage.Rehosting,
                UpstreamOutputUrl = upstream.OutputUrl,
            },
            "failed" => run.Fail(RunErrorCodes.RunFailed, string.IsNullOrWhiteSpace(upstream.Error) ? "The run failed upstream." : upstream.Error, now),
            _ => run,
        };
    }

    private async Task SaveAsync(RunRecord current, RunRecord next, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var saved = await store.TryUpdateAsync(next, current.Version, cancellationToken);
        if (saved && next.IsTerminal)
        {
            CountEnded(next);
        }

        // Lost a race (another writer moved the version): keep polling at the cadence rather than waiting out the lease.
        // The store refuses to schedule a run that is gone or terminal meanwhile.
        if (!saved || !next.IsTerminal)
        {
            await store.ScheduleAsync(next.Id, now + Cadence(next, now), cancellationToken);
        }
    }

    private static TimeSpan NotBefore(TimeSpan? retryAfter, TimeSpan cadence) =>
        retryAfter is { } r && r > cadence ? r : cadence;

    private async Task SweepSubmissionAsync(RunRecord run, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deadline = run.CreatedAt + options.Value.SubmitTimeout;
        if (now < deadline)
        {
            await store.ScheduleAsync(run.Id, deadline, cancellationToken);
            return;
        }

        var failed = run.Fail(
            RunErrorCodes.SubmissionOutcomeUnknown,
            "The gateway lost track of this submission before Kimara answered; Kimara may or may not have started it.",
            now);
        if (await store.TryUpdateAsync(failed, run.Version, cancellationToken))
        {
            CountEnded(failed);
        }
    }

    /// <summary>Counted by the writer whose update ended the run, so a run raced by two writers is counted once.</summary>
    private void CountEnded(RunRecord run)
    {
        if (run.Status == RunStatus.Completed)
        {
            metrics.RunCompleted(run.AppId);
        }
        else
        {
            metrics.RunFailed(run.AppId, run.ErrorCode ?? RunErrorCodes.RunFailed);
        }
    }

    /// <summary>
    /// <see cref="TrackingOptions.PollInterval"/> (2 s) while young; after <see cref="TrackingOptions.BackoffAfter"/> it
    /// grows by a tenth of the extra age, reaching <see cref="TrackingOptions.MaxPollInterval"/> (5 s) 30 s later by default.
    /// </summary>
    internal TimeSpan Cadence(RunRecord run, DateTimeOffset now)
    {
        var o = options.Value;
        var age = now - run.CreatedAt;
        if (age <= o.BackoffAfter)
        {
            return o.PollInterval;
        }

        var stretched = o.PollInterval + ((age - o.BackoffAfter) / 10);
        return stretched < o.MaxPollInterval ? stretched : o.MaxPollInterval;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kimara rate-limited polling of run {RunId}; next poll in {Wait}")]
    private static partial void LogRateLimited(ILogger logger, string runId, TimeSpan wait);
}
