using System.Text.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Hosting;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>How a submission ended: an accepted run, or a failure to report with the run it left behind.</summary>
public sealed record SubmitOutcome(RunRecord Run, UpstreamResult Upstream)
{
    public bool Accepted => Upstream.IsOk;
}

/// <summary>
/// Submits a run: the record is written before the upstream POST (so no paid run goes untracked) and updated after.
/// The POST is sent once; an answer that never came is recorded as an unknown outcome, never retried.
/// </summary>
public sealed partial class RunSubmitter(
    IRunStore store,
    KimaraClient kimara,
    TimeProvider time,
    IOptions<TrackingOptions> tracking,
    GatewayMetrics metrics,
    Serilog.IDiagnosticContext requestLog,
    ILogger<RunSubmitter> logger)
{
    public async Task<SubmitOutcome> SubmitAsync(string callerId, string appId, JsonObject inputs, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var run = new RunRecord
        {
            Id = RunIds.New(),
            CallerId = callerId,
            AppId = appId,
            Inputs = inputs,
            CreatedAt = now,
            UpdatedAt = now,
            History = [new RunTransition(1, RunStatus.Queued, now)],
        };

        // Should this replica die during the POST, the tracker finds the run due after SubmitTimeout and surfaces it.
        await store.CreateAsync(run, now + tracking.Value.SubmitTimeout, cancellationToken);

        // The caller going away must not leave a paid run half-recorded: the POST and its bookkeeping finish regardless.
        var upstream = await kimara.SubmitAsync(new KimaraSubmitRequest(appId, inputs.DeepClone().AsObject()), CancellationToken.None);
        var updated = Apply(run, upstream, time.GetUtcNow());
        var saved = await store.TryUpdateAsync(updated, run.Version, CancellationToken.None);
        if (!saved)
        {
            // Only the tracker's SubmitTimeout sweep can have moved it; report what the store holds.
            updated = await store.GetAsync(run.Id, CancellationToken.None) ?? updated;
        }
        else if (updated.Stage == RunStage.Tracking)
        {
            await store.ScheduleAsync(run.Id, time.GetUtcNow() + tracking.Value.PollInterval, CancellationToken.None);
        }

        LogSubmitted(logger, run.Id, appId, callerId, upstream.Outcome);
        requestLog.Set("RunId", run.Id);
        requestLog.Set("AppId", appId);
        metrics.RunSubmitted(appId, JsonNamingPolicy.SnakeCaseLower.ConvertName(upstream.Outcome.ToString()));
        // A run the SubmitTimeout sweep failed meanwhile was counted by the sweep.
        if (saved && updated.Status == RunStatus.Failed)
        {
            metrics.RunFailed(appId, updated.ErrorCode ?? RunErrorCodes.UpstreamUnavailable);
        }

        return new SubmitOutcome(updated, upstream);
    }

    private static RunRecord Apply(RunRecord run, UpstreamResult upstream, DateTimeOffset now) => upstream.Outcome switch
    {
        UpstreamOutcome.Ok => run with
        {
            UpstreamId = upstream.Run!.Id,
            Stage = RunStage.Tracking,
            LastPolledAt = now,
            UpdatedAt = now,
        },
        UpstreamOutcome.Unknown => run.Fail(
            RunErrorCodes.SubmissionOutcomeUnknown,
            "Kimara did not answer the submission; it may or may not have started the run. It was not retried, to avoid a second paid run.",
            now),
        UpstreamOutcome.RateLimited => run.Fail(RunErrorCodes.UpstreamRateLimited, "Kimara refused the submission for now (rate limited); nothing was started.", now),
        UpstreamOutcome.Rejected => run.Fail(RunErrorCodes.UpstreamRejected, "Kimara rejected the submission; nothing was started.", now),
        _ => run.Fail(RunErrorCodes.UpstreamUnavailable, "Kimara is unavailable; nothing was started.", now),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} for App {AppId} by caller {CallerId}: upstream {Outcome}")]
    private static partial void LogSubmitted(ILogger logger, string runId, string appId, string callerId, UpstreamOutcome outcome);
}

/// <summary>Stable <c>error_code</c> values of failed runs.</summary>
public static class RunErrorCodes
{
    public const string SubmissionOutcomeUnknown = "submission_outcome_unknown";
    public const string UpstreamRateLimited = "upstream_rate_limited";
    public const string UpstreamRejected = "upstream_rejected";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UpstreamRunMissing = "upstream_run_missing";
    public const string RunFailed = "run_failed";
    public const string OutputUnavailable = "output_unavailable";
}
