using System.Globalization;
using System.Text.Json;
using KimaraGateway.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace KimaraGateway.Runs;

/// <summary>
/// The run store over Redis. Layout under the key prefix: <c>run:{id}</c> hash (v = version, j = JSON),
/// <c>caller:{id}:runs</c> sorted by creation time, <c>active</c> sorted by next poll time, <c>lease:{name}</c>
/// strings, <c>budget:{unix second}</c> counters, and the <c>changes</c> pub/sub channel.
/// </summary>
public sealed class RedisRunStore(IConnectionMultiplexer redis, IOptions<RunStoreOptions> options) : IRunStore
{
    /// <summary>Lease names of claimed runs are this prefix plus the run id.</summary>
    public const string RunLeasePrefix = "run:";

    private const int ScanBatch = 50;
    private const int MaxScanned = 2000;

    // Creates the run; a caller index that was left to expire (all its runs terminal) lives on while it has runs.
    private const string CreateScript = """
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'j', ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6])
        if ARGV[4] ~= '0' then
          redis.call('PEXPIRE', KEYS[1], ARGV[4])
          if redis.call('SCARD', KEYS[4]) == 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
        else
          redis.call('PERSIST', KEYS[2])
          redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
          redis.call('SADD', KEYS[4], ARGV[6])
        end
        return 1
        """;

    // Replaces the record only at the expected version, so a replica that lost its lease cannot overwrite newer state.
    // A terminal run gets the retention as time to live and leaves the active sets; the caller's index sheds (a bounded
    // batch of) entries whose runs expired and, once the caller has nothing active, expires with its last run.
    private const string UpdateScript = """
        local cur = redis.call('HGET', KEYS[1], 'v')
        if not cur then
          redis.call('ZREM', KEYS[2], ARGV[6])
          redis.call('SREM', KEYS[3], ARGV[6])
          return -1
        end
        if cur ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'v', ARGV[2], 'j', ARGV[3])
        if ARGV[4] ~= '0' then
          redis.call('PEXPIRE', KEYS[1], ARGV[4])
          redis.call('ZREM', KEYS[2], ARGV[6])
          redis.call('SREM', KEYS[3], ARGV[6])
          local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[7], 'LIMIT', 0, 20)
          for _, id in ipairs(old) do
            if redis.call('EXISTS', ARGV[8] .. id) == 0 then redis.call('ZREM', KEYS[4], id) end
          end
          if redis.call('SCARD', KEYS[3]) == 0 then redis.call('PEXPIRE', KEYS[4], ARGV[4]) end
        end
        if ARGV[2] ~= ARGV[1] then redis.call('PUBLISH', ARGV[5], ARGV[6] .. '|' .. ARGV[2]) end
        return 1
        """;

    // Schedules only runs that exist and are not terminal (terminal records carry a time to live), so a late
    // reschedule after a run finished or expired cannot put it back into the active set.
    private const string ScheduleScript = """
        if redis.call('PTTL', KEYS[2]) == -1 then
          redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
          return 1
        end
        redis.call('ZREM', KEYS[1], ARGV[2])
        return 0
        """;

    // Claims due runs under a lease each, within the deployment-wide poll budget of the current second.
    private const string ClaimScript = """
        local now = tonumber(ARGV[1])
        local leaseMs = tonumber(ARGV[3])
        local max = tonumber(ARGV[4])
        local budget = tonumber(ARGV[5])
        if budget > 0 then
          local used = tonumber(redis.call('GET', KEYS[2]) or '0')
          if used >= budget then return {} end
          max = math.min(max, budget - used)
        end
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
        local claimed = {}
        for i = 1, #due, 2 do
          local id = due[i]
          if redis.call('PTTL', ARGV[7] .. id) ~= -1 then
            -- Gone or terminal: it has nothing left to poll and must not stay in the active set.
            redis.call('ZREM', KEYS[1], id)
          elseif redis.call('SET', ARGV[6] .. id, ARGV[2], 'NX', 'PX', leaseMs) then
            redis.call('ZADD', KEYS[1], now + leaseMs, id)
            table.insert(claimed, id)
            table.insert(claimed, due[i + 1])
          end
        end
        if budget > 0 and #claimed > 0 then
          redis.call('INCRBY', KEYS[2], #claimed / 2)
          redis.call('PEXPIRE', KEYS[2], 2000)
        end
        return claimed
        """;

    // One run's lease plus one poll of the current second's budget, or nothing.
    private const string ClaimOneScript = """
        local budget = tonumber(ARGV[3])
        if budget > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= budget then return 0 end
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        if budget > 0 then
          redis.call('INCRBY', KEYS[2], 1)
          redis.call('PEXPIRE', KEYS[2], 2000)
        end
        return 1
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly string _prefix = options.Value.KeyPrefix;
    private readonly TimeSpan _retention = options.Value.Retention;

    private IDatabase Db => redis.GetDatabase();

    private long RetentionMs => (long)_retention.TotalMilliseconds;

    private string RunKeyPrefix => _prefix + "run:";

    private RedisKey RunKey(string id) => RunKeyPrefix + id;

    private RedisKey CallerKey(string callerId) => _prefix + "caller:" + callerId + ":runs";

    private RedisKey CallerActiveKey(string callerId) => _prefix + "caller:" + callerId + ":active";

    private RedisKey ActiveKey => _prefix + "active";

    private string LeasePrefix => _prefix + "lease:";

    private RedisKey BudgetKey(DateTimeOffset now) => _prefix + "budget:" + now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private RedisChannel ChangesChannel => RedisChannel.Literal(_prefix + "changes");

    public Task CreateAsync(RunRecord run, DateTimeOffset firstPollDue, CancellationToken cancellationToken) =>
        Db.ScriptEvaluateAsync(
            CreateScript,
            [RunKey(run.Id), CallerKey(run.CallerId), ActiveKey, CallerActiveKey(run.CallerId)],
            [run.Version, Serialize(run), run.CreatedAt.ToUnixTimeMilliseconds(), run.IsTerminal ? RetentionMs : 0, firstPollDue.ToUnixTimeMilliseconds(), run.Id]);

    public async Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var json = await Db.HashGetAsync(RunKey(id), "j");
        return json.IsNullOrEmpty ? null : Deserialize(json!);
    }

    public async Task<bool> TryUpdateAsync(RunRecord run, long expectedVersion, CancellationToken cancellationToken)
    {
        var ttl = run.IsTerminal ? RetentionMs : 0;
        var expiredBefore = (run.CompletedAt ?? run.UpdatedAt).ToUnixTimeMilliseconds() - RetentionMs;
        var result = (long)await Db.ScriptEvaluateAsync(
            UpdateScript,
            [RunKey(run.Id), ActiveKey, CallerActiveKey(run.CallerId), CallerKey(run.CallerId)],
            [expectedVersion, run.Version, Serialize(run), ttl, _prefix + "changes", run.Id, expiredBefore, RunKeyPrefix]);
        return result == 1;
    }

    public async Task<RunPage> ListAsync(string callerId, RunListQuery query, CancellationToken cancellationToken)
    {
        var key = CallerKey(callerId);
        var hasCursor = RunCursor.TryParse(query.Cursor, out var cursor);
        double start = hasCursor ? cursor.CreatedAtMs : double.PositiveInfinity;
        var page = new List<RunRecord>(query.Limit);
        var scanned = 0;
        var skip = 0;
        RunRecord? last = null;
        var exhausted = false;

        while (page.Count < query.Limit && scanned < MaxScanned)
        {
            var batch = await Db.SortedSetRangeByScoreWithScoresAsync(key, start, double.NegativeInfinity, Exclude.None, Order.Descending, skip, ScanBatch);
            if (batch.Length == 0)
            {
                exhausted = true;
                break;
            }

            skip += batch.Length;
            scanned += batch.Length;
            var ids = batch.Where(e => !hasCursor || cursor.Precedes((long)e.Score, e.Element!)).Select(e => (string)e.Element!).ToArray();
            var records = await Task.WhenAll(ids.Select(id => GetAsync(id, cancellationToken)));
            var missing = new List<RedisValue>();
            for (var i = 0; i < ids.Length && page.Count < query.Limit; i++)
            {
                if (records[i] is not { } run)
                {
                    missing.Add(ids[i]);
                    continue;
                }

                last = run;
                if (Matches(run, query))
                {
                    page.Add(run);
                }
            }

            // Runs expired by retention leave the index lazily.
            if (missing.Count > 0)
            {
                await Db.SortedSetRemoveAsync(key, [.. missing]);
                skip -= missing.Count;
            }

            if (batch.Length < ScanBatch && page.Count < query.Limit)
            {
                exhausted = true;
                break;
            }
        }

        var next = !exhausted && last is not null ? new RunCursor(last.CreatedAt.ToUnixTimeMilliseconds(), last.Id).Encode() : null;
        return new RunPage(page, next);
    }

    public Task ScheduleAsync(string id, DateTimeOffset due, CancellationToken cancellationToken) =>
        Db.ScriptEvaluateAsync(ScheduleScript, [ActiveKey, RunKey(id)], [due.ToUnixTimeMilliseconds(), id]);

    public Task UnscheduleAsync(string id, CancellationToken cancellationToken) => Db.SortedSetRemoveAsync(ActiveKey, id);

    public async Task<DateTimeOffset?> GetDueAsync(string id, CancellationToken cancellationToken)
    {
        var score = await Db.SortedSetScoreAsync(ActiveKey, id);
        return score is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null;
    }

    public async Task<IReadOnlyList<DueRun>> ClaimDueAsync(DateTimeOffset now, string owner, TimeSpan lease, int max, int budgetPerSecond, CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var result = await Db.ScriptEvaluateAsync(
            ClaimScript,
            [ActiveKey, BudgetKey(now)],
            [nowMs, owner, (long)lease.TotalMilliseconds, max, budgetPerSecond, LeasePrefix + RunLeasePrefix, RunKeyPrefix]);
        // Pairs of id and due score (Unix milliseconds).
        var flat = (RedisResult[])result!;
        return Enumerable.Range(0, flat.Length / 2)
            .Select(i => new DueRun((string)flat[2 * i]!, DateTimeOffset.FromUnixTimeMilliseconds((long)(double)flat[(2 * i) + 1])))
            .ToArray();
    }

    public async Task<bool> TryClaimAsync(string id, DateTimeOffset now, string owner, TimeSpan lease, int budgetPerSecond, CancellationToken cancellationToken)
    {
        var result = await Db.ScriptEvaluateAsync(
            ClaimOneScript,
            [(RedisKey)(LeasePrefix + RunLeasePrefix + id), BudgetKey(now)],
            [owner, (long)lease.TotalMilliseconds, budgetPerSecond]);
        return (long)result == 1;
    }

    public Task<bool> TryLockAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken) =>
        Db.StringSetAsync(LeasePrefix + name, owner, ttl, When.NotExists);

    public Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken) =>
        Db.ScriptEvaluateAsync(ReleaseScript, [(RedisKey)(LeasePrefix + name)], [owner]);

    public Task<long> CountActiveAsync(CancellationToken cancellationToken) => Db.SortedSetLengthAsync(ActiveKey);

    public async Task<long> CountActiveAsync(string callerId, CancellationToken cancellationToken)
    {
        var key = CallerActiveKey(callerId);
        var ids = await Db.SetMembersAsync(key);
        // Runs that expired or vanished without a terminal update (a flushed store) must not hold a caller's slots forever.
        var exists = await Task.WhenAll(ids.Select(id => Db.KeyExistsAsync(RunKey(id!))));
        var gone = ids.Where((_, i) => !exists[i]).ToArray();
        if (gone.Length > 0)
        {
            await Db.SetRemoveAsync(key, gone);
        }

        return ids.Length - gone.Length;
    }

    public Task SubscribeAsync(Action<RunChange> handler, CancellationToken cancellationToken) =>
        redis.GetSubscriber().SubscribeAsync(ChangesChannel, (_, message) =>
        {
            var text = (string?)message;
            var bar = text?.LastIndexOf('|') ?? -1;
            if (bar > 0 && long.TryParse(text.AsSpan(bar + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                handler(new RunChange(text![..bar], version));
            }
        });

    private static bool Matches(RunRecord run, RunListQuery query) =>
        (query.Status is null || run.Status == query.Status) && (query.AppId is null || run.AppId == query.AppId);

    private static string Serialize(RunRecord run) => JsonSerializer.Serialize(run, RunJsonContext.Default.RunRecord);

    private static RunRecord? Deserialize(string json) => JsonSerializer.Deserialize(json, RunJsonContext.Default.RunRecord);
}
