using KimaraGateway.Runs;

namespace KimaraGateway.Outputs;

/// <summary>Completes a run as soon as Kimara does, keeping Kimara's output URL server-side for the output route.</summary>
public sealed class PassThroughCompletion(TimeProvider time) : IRunCompletion
{
    public Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken) =>
        Task.FromResult(run.Advance(RunStatus.Completed, time.GetUtcNow()) with { Stage = RunStage.Done });
}
