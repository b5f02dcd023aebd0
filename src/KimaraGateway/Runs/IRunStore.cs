namespace KimaraGateway.Runs;

/// <summary>A change of a run that callers can see, published to every replica.</summary>
public readonly record struct RunChange(string RunId, long Version);

/// <summary>A run the tracker claimed, with the poll time it was due at (how late the tracker is).</summary>
public readonly record struct DueRun(string Id, DateTimeOffset Due);

/// <summary>A page of a caller's runs, newest first.</summary>
public sealed record RunPage(IReadOnlyList<RunRecord> Runs, string? NextCursor);

/// <summary>Filters and position for a caller's run history.</summary>
public sealed record RunListQuery(int Limit, string? Cursor = null, RunStatus? Status = null, string? AppId = null);

/// <summary>
/// Run records, the caller's run index, the set of active runs with their next poll time, leases and the change feed.
/// Implemented over Redis for real deployments and in memory for the zero-setup default; both pass the same contract tests.
/// </summary>
public interface IRunStore
{
    /// <summary>Writes a new run, indexes it for its caller and, unless terminal, schedules its first poll.</summary>
    Task CreateAsync(RunRecord run, DateTimeOffset firstPollDue, CancellationToken cancellationToken);

    Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the run when the stored version still is <paramref name="expectedVersion"/>; publishes a
    /// <see cref="RunChange"/> when the version moved. Terminal runs get the retention as time to live and leave the active set.
    /// </summary>
    Task<bool> TryUpdateAsync(RunRecord run, long expectedVersion, CancellationToken cancellationToken);

    Task<RunPage> ListAsync(string callerId, RunListQuery query, CancellationToken cancellationToken);

    /// <summary>Sets when the run is next due for an upstream poll.</summary>
    Task ScheduleAsync(string id, DateTimeOffset due, CancellationToken cancellationToken);

    /// <summary>Takes the run out of the active set.</summary>
    Task UnscheduleAsync(string id, CancellationToken cancellationToken);

    /// <summary>When the run is next due, or null when it is not active.</summary>
    Task<DateTimeOffset?> GetDueAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically claims up to <paramref name="max"/> runs due at <paramref name="now"/>, each under a lease held by
    /// <paramref name="owner"/>, within the deployment-wide budget of polls per second (0 = unlimited).
    /// </summary>
    Task<IReadOnlyList<DueRun>> ClaimDueAsync(DateTimeOffset now, string owner, TimeSpan lease, int max, int budgetPerSecond, CancellationToken cancellationToken);

    /// <summary>
    /// Claims one run for an on-demand poll: its lease (the one <see cref="ClaimDueAsync"/> takes) and one poll of the
    /// deployment-wide budget of the second at <paramref name="now"/>. False when another owner holds the lease or the
    /// budget is spent, so reads of a lagging run can never push Kimara past the budget.
    /// </summary>
    Task<bool> TryClaimAsync(string id, DateTimeOffset now, string owner, TimeSpan lease, int budgetPerSecond, CancellationToken cancellationToken);

    /// <summary>Takes a named lock (single flight across replicas); false when another owner holds it.</summary>
    Task<bool> TryLockAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Releases a lock or lease that <paramref name="owner"/> still holds.</summary>
    Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken);

    /// <summary>Number of the caller's runs not yet completed or failed (for concurrency limits across replicas).</summary>
    Task<long> CountActiveAsync(string callerId, CancellationToken cancellationToken);

    /// <summary>Number of runs in the active set.</summary>
    Task<long> CountActiveAsync(CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="handler"/> for every run change published by any replica.</summary>
    Task SubscribeAsync(Action<RunChange> handler, CancellationToken cancellationToken);
}
