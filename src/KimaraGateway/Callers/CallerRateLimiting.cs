using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using KimaraGateway.Hosting;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace KimaraGateway.Callers;

/// <summary>
/// One limit as the IETF RateLimit headers name it: a quota of <paramref name="Limit"/> per <paramref name="Window"/>.
/// <paramref name="Batched"/> limits are counted in Redis a batch of permits at a time (<see cref="SharedWindowRateLimiter"/>):
/// for the hot read path, where a round trip per request would cost more than the read itself.
/// </summary>
public sealed record LimitWindow(string Name, int Limit, TimeSpan Window, bool Batched = false);

/// <summary>
/// Fixed-window limiters per caller, held in Redis (so every replica counts against the same window) or, without Redis, in
/// this process. Submissions and quotas use RedisRateLimiting's Lua-scripted windows (exact, one-second resolution, a window
/// opens with its first request); reads use <see cref="SharedWindowRateLimiter"/>, which borrows permits in batches.
/// </summary>
public sealed class CallerRateLimiters : IAsyncDisposable
{
    public const string SubmissionsPolicy = "caller-submissions";
    public const string ReadsPolicy = "caller-reads";

    private const int MaxPartitions = 10_000;

    private readonly IConnectionMultiplexer? _redis;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly PartitionedRateLimiter<LimitRequest> _quotas;
    private readonly ConcurrentDictionary<(string CallerId, LimitWindow Limit), RateLimitPartition<string>> _partitions = new();

    public CallerRateLimiters(IConnectionMultiplexer? redis, IOptions<RunStoreOptions> store, TimeProvider time)
    {
        _redis = redis;
        _time = time;
        _prefix = store.Value.KeyPrefix;
        _quotas = PartitionedRateLimiter.Create<LimitRequest, string>(r => Partition(r.CallerId, r.Limit));
    }

    public static LimitWindow Submissions(EffectiveLimits limits) => new("submissions", limits.SubmissionsPerMinute, TimeSpan.FromMinutes(1));

    public static LimitWindow Reads(EffectiveLimits limits) => new("reads", limits.ReadsPerSecond, TimeSpan.FromSeconds(1), Batched: true);

    public static LimitWindow RunsPerDay(EffectiveLimits limits) => new("runs-per-day", limits.RunsPerDay, TimeSpan.FromDays(1));

    public static LimitWindow? RunsPerDayOfApp(EffectiveLimits limits, string? appId) =>
        appId is not null && limits.RunsPerDayPerApp.TryGetValue(appId, out var limit) && limit > 0
            ? new LimitWindow("runs-per-day:" + appId, limit, TimeSpan.FromDays(1))
            : null;

    /// <summary>The partition the rate-limiting middleware uses for a caller and limit.</summary>
    /// <remarks>
    /// Kept per caller and limit: the middleware asks on every request, and building the key and the limiter's factory
    /// each time allocated more than the read it guarded.
    /// </remarks>
    public RateLimitPartition<string> Partition(string callerId, LimitWindow limit)
    {
        if (_partitions.Count >= MaxPartitions)
        {
            _partitions.Clear();
        }

        return _partitions.GetOrAdd((callerId, limit), static (k, self) => self.NewPartition(k.CallerId, k.Limit), this);
    }

    private RateLimitPartition<string> NewPartition(string callerId, LimitWindow limit)
    {
        // The limit is part of the partition key, so a key whose limit changes starts a fresh window instead of reusing one.
        var key = $"{_prefix}limit:{limit.Name}:{limit.Limit.ToString(CultureInfo.InvariantCulture)}:{callerId}";
        if (limit.Limit <= 0)
        {
            return RateLimitPartition.GetNoLimiter(key);
        }

        if (_redis is { } redis)
        {
            if (limit.Batched)
            {
                return RateLimitPartition.Get(key, k => new SharedWindowRateLimiter(
                    redis, k, limit.Limit, limit.Window, SharedWindowRateLimiter.BatchFor(limit.Limit), _time));
            }

            return RedisRateLimitPartition.GetFixedWindowRateLimiter(key, _ => new RedisFixedWindowRateLimiterOptions
            {
                ConnectionMultiplexerFactory = () => redis,
                PermitLimit = limit.Limit,
                Window = limit.Window,
            });
        }

        return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.Limit,
            Window = limit.Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    /// <summary>Takes one permit of a quota the middleware cannot see (it depends on the body), e.g. runs per day of an App.</summary>
    public ValueTask<RateLimitLease> AcquireAsync(string callerId, LimitWindow limit, CancellationToken cancellationToken) =>
        _quotas.AcquireAsync(new LimitRequest(callerId, limit), 1, cancellationToken);

    public ValueTask DisposeAsync() => _quotas.DisposeAsync();

    /// <summary>How long until a rejected lease's window lets the caller in again.</summary>
    public static TimeSpan RetryAfterOf(RateLimitLease lease, LimitWindow limit)
    {
        // RedisRateLimiting reports whole seconds as an int, the in-memory limiters a TimeSpan.
        if (lease.TryGetMetadata(MetadataName.RetryAfter.Name, out var value))
        {
            switch (value)
            {
                case TimeSpan span:
                    return span;
                case int seconds:
                    return TimeSpan.FromSeconds(seconds);
            }
        }

        return limit.Window;
    }

    private sealed record LimitRequest(string CallerId, LimitWindow Limit);
}

/// <summary>The 429 every limit answers with: a problem, <c>Retry-After</c>, and the IETF <c>RateLimit-Policy</c>/<c>RateLimit</c> fields.</summary>
public static class RateLimitRejection
{
    public static void AddHeaders(HttpContext context, string policy, int quota, TimeSpan? window, TimeSpan retryAfter, string? quotaUnit = null)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var headers = context.Response.Headers;
        var q = quota.ToString(CultureInfo.InvariantCulture);
        var w = window is { } span ? ";w=" + ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture) : "";
        var qu = quotaUnit is null ? "" : $";qu=\"{quotaUnit}\"";
        headers.RetryAfter = seconds;
        headers["RateLimit-Policy"] = $"\"{policy}\";q={q}{w}{qu}";
        headers["RateLimit"] = $"\"{policy}\";r=0;t={seconds}";
    }

    public static Task WriteAsync(HttpContext context, LimitWindow limit, TimeSpan retryAfter)
    {
        AddHeaders(context, limit.Name, limit.Limit, limit.Window, retryAfter);
        return Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, Problems.RateLimited,
            $"Limit '{limit.Name}' ({limit.Limit.ToString(CultureInfo.InvariantCulture)} per {Describe(limit.Window)}) reached; try again after Retry-After.");
    }

    /// <summary>The middleware's rejection: always 429 with the caller's limit, never the framework's bare 503.</summary>
    internal static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var policy = context.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName;
        var limits = context.RequestServices.GetRequiredService<CallerLimits>().For(context.User);
        var limit = policy == CallerRateLimiters.SubmissionsPolicy ? CallerRateLimiters.Submissions(limits) : CallerRateLimiters.Reads(limits);
        context.RequestServices.GetRequiredService<GatewayMetrics>().RateLimitRejected(limit.Name);
        await WriteAsync(context, limit, CallerRateLimiters.RetryAfterOf(rejected.Lease, limit));
    }

    private static string Describe(TimeSpan window) => window switch
    {
        { TotalDays: >= 1 } => "day",
        { TotalMinutes: >= 1 } => "minute",
        _ => "second",
    };
}
