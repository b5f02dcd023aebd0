using KimaraGateway.Runs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace KimaraGateway.Callers;

/// <summary>
/// The caller's slots for concurrent runs, shared by every replica. A submission takes a slot (a ticket) before it starts,
/// and the slot becomes the run's once the run is accepted, so a run is never counted twice and never not at all; slots of
/// runs that have since completed or failed are freed on the next admission. A ticket whose replica died frees itself.
/// </summary>
public interface IActiveRunSlotStore
{
    /// <summary>The run ids holding the caller's slots.</summary>
    Task<IReadOnlyList<string>> RunsAsync(string callerId, CancellationToken cancellationToken);

    /// <summary>
    /// Frees <paramref name="finished"/>, then takes a slot for <paramref name="ticket"/> if fewer than
    /// <paramref name="limit"/> are held; returns whether it did.
    /// </summary>
    Task<bool> TryReserveAsync(string callerId, string ticket, int limit, IReadOnlyList<string> finished, CancellationToken cancellationToken);

    /// <summary>Hands the ticket's slot to the run it started.</summary>
    Task BindAsync(string callerId, string ticket, string runId, CancellationToken cancellationToken);

    Task ReleaseAsync(string callerId, string ticket, CancellationToken cancellationToken);
}

/// <summary>Admission against the caller's concurrent-run limit.</summary>
public sealed class ActiveRunSlots(IActiveRunSlotStore slots, IRunStore runs)
{
    /// <summary>A ticket for a new submission, or null when the caller already has <paramref name="limit"/> runs going.</summary>
    public async Task<string?> TryReserveAsync(string callerId, int limit, CancellationToken cancellationToken)
    {
        var finished = new List<string>();
        foreach (var runId in await slots.RunsAsync(callerId, cancellationToken))
        {
            if (await runs.GetAsync(runId, cancellationToken) is not { IsTerminal: false })
            {
                finished.Add(runId);
            }
        }

        var ticket = Guid.NewGuid().ToString("N");
        return await slots.TryReserveAsync(callerId, ticket, limit, finished, cancellationToken) ? ticket : null;
    }

    public Task BindAsync(string callerId, string ticket, string runId) => slots.BindAsync(callerId, ticket, runId, CancellationToken.None);

    public Task ReleaseAsync(string callerId, string ticket) => slots.ReleaseAsync(callerId, ticket, CancellationToken.None);
}

/// <summary>Slots in a sorted set per caller (<c>{prefix}slots:{caller}</c>): members <c>t:{ticket}</c> and <c>r:{run id}</c>, scored by expiry.</summary>
public sealed class RedisActiveRunSlotStore(IConnectionMultiplexer redis, IOptions<RunStoreOptions> options, TimeProvider time) : IActiveRunSlotStore
{
    // Long enough for any submission (the upstream POST is bounded by Kimara:TotalTimeout), short enough to heal after a crash.
    internal static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(5);

    // A run slot outliving this is taken to be stuck, not active; the sweep normally frees it when the run ends.
    internal static readonly TimeSpan RunSlotLifetime = TimeSpan.FromDays(1);

    private const string ReserveScript = """
        for i = 6, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """;

    private const string BindScript = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    private readonly string _prefix = options.Value.KeyPrefix;

    private IDatabase Db => redis.GetDatabase();

    public async Task<IReadOnlyList<string>> RunsAsync(string callerId, CancellationToken cancellationToken)
    {
        var members = await Db.SortedSetRangeByRankAsync(Key(callerId));
        return [.. members.Select(m => (string)m!).Where(m => m.StartsWith("r:", StringComparison.Ordinal)).Select(m => m[2..])];
    }

    public async Task<bool> TryReserveAsync(string callerId, string ticket, int limit, IReadOnlyList<string> finished, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        RedisValue[] args =
        [
            now, limit, "t:" + ticket, now + (long)TicketLifetime.TotalMilliseconds, (long)RunSlotLifetime.TotalMilliseconds,
            .. finished.Select(id => (RedisValue)("r:" + id)),
        ];
        return (long)(await Db.ScriptEvaluateAsync(ReserveScript, [Key(callerId)], args)) == 1;
    }

    public Task BindAsync(string callerId, string ticket, string runId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return Db.ScriptEvaluateAsync(BindScript, [Key(callerId)],
            ["t:" + ticket, "r:" + runId, now + (long)RunSlotLifetime.TotalMilliseconds, (long)RunSlotLifetime.TotalMilliseconds]);
    }

    public Task ReleaseAsync(string callerId, string ticket, CancellationToken cancellationToken) =>
        Db.SortedSetRemoveAsync(Key(callerId), "t:" + ticket);

    private RedisKey Key(string callerId) => _prefix + "slots:" + callerId;
}

/// <summary>The same slots in this process, for the zero-setup default.</summary>
public sealed class InMemoryActiveRunSlotStore(TimeProvider time) : IActiveRunSlotStore
{
    private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _slots = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Task<IReadOnlyList<string>> RunsAsync(string callerId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<string> runs = _slots.TryGetValue(callerId, out var held)
                ? [.. held.Keys.Where(m => m.StartsWith("r:", StringComparison.Ordinal)).Select(m => m[2..])]
                : [];
            return Task.FromResult(runs);
        }
    }

    public Task<bool> TryReserveAsync(string callerId, string ticket, int limit, IReadOnlyList<string> finished, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var held = Held(callerId);
            foreach (var runId in finished)
            {
                held.Remove("r:" + runId);
            }

            foreach (var expired in held.Where(h => h.Value <= now).Select(h => h.Key).ToList())
            {
                held.Remove(expired);
            }

            if (held.Count >= limit)
            {
                return Task.FromResult(false);
            }

            held["t:" + ticket] = now + RedisActiveRunSlotStore.TicketLifetime;
            return Task.FromResult(true);
        }
    }

    public Task BindAsync(string callerId, string ticket, string runId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var held = Held(callerId);
            held.Remove("t:" + ticket);
            held["r:" + runId] = time.GetUtcNow() + RedisActiveRunSlotStore.RunSlotLifetime;
            return Task.CompletedTask;
        }
    }

    public Task ReleaseAsync(string callerId, string ticket, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Held(callerId).Remove("t:" + ticket);
            return Task.CompletedTask;
        }
    }

    private Dictionary<string, DateTimeOffset> Held(string callerId)
    {
        if (!_slots.TryGetValue(callerId, out var held))
        {
            held = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            _slots[callerId] = held;
        }

        return held;
    }
}
