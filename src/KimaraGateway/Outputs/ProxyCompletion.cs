using KimaraGateway.Runs;

namespace KimaraGateway.Outputs;

/// <summary>
/// Proxy mode: nothing is stored. The run completes as soon as Kimara's output URL passes the fetch policy; the output
/// routes stream from that URL while it is valid and answer 410 after.
/// </summary>
public sealed partial class ProxyCompletion(OutputFetchPolicy policy, TimeProvider time, ILogger<ProxyCompletion> logger) : IRunCompletion
{
    public Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var refusal = Uri.TryCreate(run.UpstreamOutputUrl, UriKind.Absolute, out var url)
            ? policy.CheckUrl(url)
            : Failures.Refused(FetchReasons.MissingUrl, "No absolute output URL in Kimara's answer.");
        if (refusal is not null)
        {
            LogRefused(logger, run.Id, refusal.Reason, refusal.Detail);
            return Task.FromResult(run.Fail(RunErrorCodes.OutputUnavailable, "Kimara's output is hosted where the gateway is not allowed to fetch from.", now));
        }

        return Task.FromResult(run.Advance(RunStatus.Completed, now) with { Stage = RunStage.Done });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} failed: its output URL is refused ({Reason}): {Detail}")]
    private static partial void LogRefused(ILogger logger, string runId, string reason, string detail);
}
