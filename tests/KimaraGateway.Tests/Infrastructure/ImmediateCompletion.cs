using KimaraGateway.Runs;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>For unit tests of run components without an output store: completes a run as soon as Kimara does.</summary>
public sealed class ImmediateCompletion(TimeProvider time) : IRunCompletion
{
    public Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken) =>
        Task.FromResult(run.Advance(RunStatus.Completed, time.GetUtcNow()) with { Stage = RunStage.Done });
}
