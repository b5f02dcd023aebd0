namespace KimaraGateway.Runs;

/// <summary>
/// Finishes a run Kimara reported completed (stage <see cref="RunStage.Rehosting"/>): returns the run completed with its
/// output, failed for good, or unchanged to be tried again at the next poll.
/// </summary>
public interface IRunCompletion
{
    Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken);
}
