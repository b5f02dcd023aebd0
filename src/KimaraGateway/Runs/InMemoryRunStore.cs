using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// The run store for the zero-setup default: one process, nothing survives a restart. It keeps the same contract
/// as <see cref="RedisRunStore"/> (and passes the same tests) so the rest of the gateway cannot tell them apart.
/// </summary>
public sealed class InMemoryRunStore(IOptions<RunStoreOptions> options, TimeProvider time) : IRunStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (RunRecord Run, DateTimeOffset? ExpiresAt)> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<(long CreatedAtMs, string Id)>> _byCaller = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Owner, DateTimeOffset ExpiresAt)> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _budget = [];
    private readonly List<Action<RunChange>> _subscribers = [];
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    public Task CreateAsync(RunRecord run, DateTimeOffset firstPollDue, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            SweepExpired();
            _runs[run.Id] = (run, run.IsTerminal ? time.GetUtcNow() + options.Value.Retention : null);
            if (!_byCaller.TryGetValue(run.CallerId, out var index))
            {
                _byCaller[run.CallerId] = index = new SortedSet<(long, string)>(Comparer<(long CreatedAtMs, string Id)>.Create(NewestFirst));
            }

            index.Add((run.CreatedAt.ToUnixTimeMilliseconds(), run.Id));
            if (!run.IsTerminal)
            {
                _active[run.Id] = firstPollDue;
            }
        }

        return Task.CompletedTask;
    }

    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Live(id));
        }
    }

    public Task<bool> TryUpdateAsync(RunRecord run, long expectedVersion, CancellationToken cancellationToken)
    {
        Action<RunChange>[] notify;
        lock (_gate)
        {
            if (Live(run.Id) is not { } current)
            {
                _active.Remove(run.Id);
                return Task.FromResult(false);
            }

            if (current.Version != expectedVersion)
            {
                return Task.FromResult(false);
            }

            _runs[run.Id] = (run, run.IsTerminal ? time.GetUtcNow() + options.Value.Retention : null);
            if (run.IsTerminal)
            {
                _active.Remove(run.Id);
            }

            notify = run.Version != expectedVersion ? [.. _subscribers] : [];
        }

        foreach (var subscriber in notify)
        {
            subscriber(new RunChange(run.Id, run.Version));
        }

        return Task.FromResult(true);
    }

    public Task<RunPage> ListAsync(string callerId, RunListQuery query, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var page = new List<RunRecord>(query.Limit);
            if (!_byCaller.TryGetValue(callerId, out var index))
            {
                return Task.FromResult(new RunPage(page, null));
            }

            var hasCursor = RunCursor.TryParse(query.Cursor, out var cursor);
            RunRecord? last = null;
            var more = false;
            foreach (var (createdAtMs, id) in index.ToArray())
            {
                if (hasCursor && !cursor.Precedes(createdAtMs, id))
                {
                    continue;
                }

                if (Live(id) is not { } run)
                {
                    index.Remove((createdAtMs, id));
                    continue;
                }

                if (page.Count == query.Limit)
                {
                    more = true;
                    break;
                }

                last = run;
                if ((query.Status is null || run.Status == query.Status) && (query.AppId is null || run.AppId == query.AppId))
                {
                    page.Add(run);
                }
            }

            var next = more && last is not null ? new RunCursor(last.CreatedAt.ToUnixTimeMilliseconds(), last.Id).Encode() : null;
            return Task.FromResult(new RunPage(page, next));
        }
    }

    public Task ScheduleAsync(string id, DateTimeOffset due, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // As in Redis: a run that finished or expired meanwhile is not put back into the active set.
            if (Live(id) is { IsTerminal: false })
            {
                _active[id] = due;
            }
            else
            {
                _active.Remove(id);
            }
        }

        return Task.CompletedTask;
    }

    public Task UnscheduleAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _active.Remove(id);
        }

        return Task.CompletedTask;
    }

    public Task<DateTimeOffset?> GetDueAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_active.TryGetValue(id, out var due) ? due : (DateTimeOffset?)null);
        }
    }

    public Task<IReadOnlyList<DueRun>> ClaimDueAsync(DateTimeOffset now, string owner, TimeSpan lease, int max, int budgetPerSecond, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var second = now.ToUnixTimeSeconds();
            foreach (var old in _budget.Keys.Where(s => s < second).ToArray())
            {
                _budget.Remove(old);
            }

            var used = _budget.GetValueOrDefault(second);
            if (budgetPerSecond > 0)
            {
                max = Math.Min(max, budgetPerSecond - used);
            }

            var claimed = new List<DueRun>();
            foreach (var (id, due) in _active.Where(a => a.Value <= now).OrderBy(a => a.Value).ToArray())
            {
                if (claimed.Count >= max)
                {
                    break;
                }

                if (Live(id) is not { IsTerminal: false })
                {
                    _active.Remove(id);
                }
                else if (TryLock(RedisRunStore.RunLeasePrefix + id, owner, now, lease))
                {
                    _active[id] = now + lease;
                    claimed.Add(new DueRun(id, due));
                }
            }

            _budget[second] = used + claimed.Count;
            return Task.FromResult<IReadOnlyList<DueRun>>(claimed);
        }
    }

    public Task<bool> TryClaimAsync(string id, DateTimeOffset now, string owner, TimeSpan lease, int budgetPerSecond, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var second = now.ToUnixTimeSeconds();
            var used = _budget.GetValueOrDefault(second);
            if ((budgetPerSecond > 0 && used >= budgetPerSecond) || !TryLock(RedisRunStore.RunLeasePrefix + id, owner, now, lease))
            {
                return Task.FromResult(false);
            }

            _budget[second] = used + 1;
            return Task.FromResult(true);
        }
    }

    public Task<bool> TryLockAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(TryLock(name, owner, time.GetUtcNow(), ttl));
        }
    }

    public Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(name, out var lease) && lease.Owner == owner)
            {
                _leases.Remove(name);
            }
        }

        return Task.CompletedTask;
    }

    public Task<long> CountActiveAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)_active.Count);
        }
    }

    public Task<long> CountActiveAsync(string callerId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)_runs.Values.Count(e => e.Run.CallerId == callerId && !e.Run.IsTerminal));
        }
    }

    public Task SubscribeAsync(Action<RunChange> handler, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _subscribers.Add(handler);
        }

        return Task.CompletedTask;
    }

    private bool TryLock(string name, string owner, DateTimeOffset now, TimeSpan ttl)
    {
        if (_leases.TryGetValue(name, out var held) && held.ExpiresAt > now)
        {
            return false;
        }

        _leases[name] = (owner, now + ttl);
        return true;
    }

    /// <summary>Drops expired runs and their index entries, at most once a minute, so unread runs do not pile up in memory.</summary>
    private void SweepExpired()
    {
        var now = time.GetUtcNow();
        if (now - _lastSweep < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _lastSweep = now;
        foreach (var (id, entry) in _runs.Where(e => e.Value.ExpiresAt <= now).ToArray())
        {
            _runs.Remove(id);
            _active.Remove(id);
            if (_byCaller.TryGetValue(entry.Run.CallerId, out var index))
            {
                index.Remove((entry.Run.CreatedAt.ToUnixTimeMilliseconds(), id));
                if (index.Count == 0)
                {
                    _byCaller.Remove(entry.Run.CallerId);
                }
            }
        }
    }

    private RunRecord? Live(string id)
    {
        if (!_runs.TryGetValue(id, out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            _runs.Remove(id);
            _active.Remove(id);
            return null;
        }

        return entry.Run;
    }

    private static int NewestFirst((long CreatedAtMs, string Id) a, (long CreatedAtMs, string Id) b)
    {
        var byTime = b.CreatedAtMs.CompareTo(a.CreatedAtMs);
        return byTime != 0 ? byTime : string.CompareOrdinal(b.Id, a.Id);
    }
}
