using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using KimaraGateway.Runs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace KimaraGateway.Callers;

/// <summary>The <c>Idempotency</c> configuration section (<c>Idempotency-Key</c> on <c>POST /runs</c>).</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>How long a key's first response is kept and replayed.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a submission may hold its key before the key is taken to be abandoned (its replica died); longer than any
    /// submission takes (Kimara:TotalTimeout).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan InFlightTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a retry waits for a first request still in flight before answering 409; 0 = answer 409 at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan InFlightWait { get; set; } = TimeSpan.Zero;
}

/// <summary>The first response to a key, replayed byte for byte.</summary>
public sealed record StoredResponse(int Status, Dictionary<string, string> Headers, byte[] Body);

/// <summary>What a key holds: the fingerprint of the body it was first used with and, once done, the response.</summary>
public sealed record IdempotencyEntry(string Fingerprint, StoredResponse? Response);

/// <summary>Idempotency records, in Redis (shared by every replica) or in memory for the zero-setup default.</summary>
public interface IIdempotencyStore
{
    /// <summary>Claims <paramref name="key"/> for <paramref name="owner"/>; null when claimed, else what the key holds.</summary>
    Task<IdempotencyEntry?> TryBeginAsync(string key, string fingerprint, string owner, TimeSpan inFlightTimeout);

    Task<IdempotencyEntry?> GetAsync(string key);

    /// <summary>Stores the response under the key, if <paramref name="owner"/> still holds it.</summary>
    Task CompleteAsync(string key, string owner, StoredResponse response, TimeSpan retention);

    /// <summary>Gives the key up, so a retry runs anew.</summary>
    Task ReleaseAsync(string key, string owner);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredResponse))]
internal sealed partial class IdempotencyJsonContext : JsonSerializerContext;

/// <summary>A hash per key at <c>{prefix}idem:{scope}</c>: <c>fp</c>, <c>owner</c>, and <c>resp</c> once done.</summary>
public sealed class RedisIdempotencyStore(IConnectionMultiplexer redis, IOptions<RunStoreOptions> options) : IIdempotencyStore
{
    private const string BeginScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HMGET', KEYS[1], 'fp', 'resp') end
        redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'owner', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return false
        """;

    private const string CompleteScript = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'resp', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    private const string ReleaseScript = """
        if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly string _prefix = options.Value.KeyPrefix;

    private IDatabase Db => redis.GetDatabase();

    public async Task<IdempotencyEntry?> TryBeginAsync(string key, string fingerprint, string owner, TimeSpan inFlightTimeout)
    {
        var result = await Db.ScriptEvaluateAsync(BeginScript, [Key(key)], [fingerprint, owner, (long)inFlightTimeout.TotalMilliseconds]);
        return result.IsNull ? null : ToEntry((RedisValue[])result!);
    }

    public async Task<IdempotencyEntry?> GetAsync(string key)
    {
        var values = await Db.HashGetAsync(Key(key), ["fp", "resp"]);
        return values[0].IsNull ? null : ToEntry(values);
    }

    public Task CompleteAsync(string key, string owner, StoredResponse response, TimeSpan retention) =>
        Db.ScriptEvaluateAsync(CompleteScript, [Key(key)],
            [owner, JsonSerializer.Serialize(response, IdempotencyJsonContext.Default.StoredResponse), (long)retention.TotalMilliseconds]);

    public Task ReleaseAsync(string key, string owner) => Db.ScriptEvaluateAsync(ReleaseScript, [Key(key)], [owner]);

    private static IdempotencyEntry ToEntry(RedisValue[] values) => new(
        (string)values[0]!,
        values[1].IsNullOrEmpty ? null : JsonSerializer.Deserialize((string)values[1]!, IdempotencyJsonContext.Default.StoredResponse));

    private RedisKey Key(string key) => _prefix + "idem:" + key;
}

/// <summary>The same records in this process.</summary>
public sealed class InMemoryIdempotencyStore(TimeProvider time) : IIdempotencyStore
{
    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);

    public Task<IdempotencyEntry?> TryBeginAsync(string key, string fingerprint, string owner, TimeSpan inFlightTimeout)
    {
        var now = time.GetUtcNow();
        var fresh = new Record(fingerprint, owner, null, now + inFlightTimeout);
        var record = _records.AddOrUpdate(key, fresh, (_, existing) => existing.ExpiresAt <= now ? fresh : existing);
        return Task.FromResult(ReferenceEquals(record, fresh) ? null : new IdempotencyEntry(record.Fingerprint, record.Response));
    }

    public Task<IdempotencyEntry?> GetAsync(string key) =>
        Task.FromResult(_records.TryGetValue(key, out var record) && record.ExpiresAt > time.GetUtcNow()
            ? new IdempotencyEntry(record.Fingerprint, record.Response)
            : null);

    public Task CompleteAsync(string key, string owner, StoredResponse response, TimeSpan retention)
    {
        if (_records.TryGetValue(key, out var record) && record.Owner == owner)
        {
            _records.TryUpdate(key, record with { Response = response, ExpiresAt = time.GetUtcNow() + retention }, record);
        }

        Sweep();
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string key, string owner)
    {
        if (_records.TryGetValue(key, out var record) && record.Owner == owner)
        {
            _records.TryRemove(new KeyValuePair<string, Record>(key, record));
        }

        return Task.CompletedTask;
    }

    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, record) in _records)
        {
            if (record.ExpiresAt <= now)
            {
                _records.TryRemove(new KeyValuePair<string, Record>(key, record));
            }
        }
    }

    private sealed record Record(string Fingerprint, string Owner, StoredResponse? Response, DateTimeOffset ExpiresAt);
}
