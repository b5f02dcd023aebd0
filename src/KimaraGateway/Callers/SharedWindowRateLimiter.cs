using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace KimaraGateway.Callers;

/// <summary>
/// A fixed window shared by every replica through one Redis counter per window, with permits borrowed in batches: a
/// replica takes up to <c>batch</c> permits with one atomic <c>INCRBY</c> and hands them out from memory, so a hot read
/// path costs one Redis round trip per batch instead of one per request (which doubled the CPU cost of a cached status
/// read, docs/benchmarks.md). Redis never grants more than the limit in a window, so the replicas together never let more
/// through. A replica borrows the next batch when half of one is left, so a steady caller never waits for Redis; its
/// unused borrowed permits lapse with the window, so a caller whose traffic moves between replicas may be stopped up to
/// (replicas × 1.5 batches) short of the limit. Once Redis says the window is spent, this replica rejects
/// without asking again until the window turns. Windows are aligned to the clock (window index = Unix time / window).
/// </summary>
public sealed class SharedWindowRateLimiter : RateLimiter
{
    // Counts the borrowed permits; the first borrow of a window sets its expiry (two windows, for clock skew between replicas).
    private const string BorrowScript = """
        local total = redis.call('INCRBY', KEYS[1], ARGV[1])
        if total == tonumber(ARGV[1]) then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return total
        """;

    private static readonly RateLimitLease Granted = new Lease(true, null);
    private static readonly RateLimitLease NotYet = new Lease(false, null);

    private readonly IConnectionMultiplexer _redis;
    private readonly string _key;
    private readonly int _limit;
    private readonly int _batch;
    private readonly long _windowMs;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();

    private long _window = long.MinValue;
    private int _available;
    private bool _spent;
    private Task? _borrowing;
    private long _lastUsed;
    private long _acquired;
    private long _rejected;

    public SharedWindowRateLimiter(IConnectionMultiplexer redis, string key, int limit, TimeSpan window, int batch, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMilliseconds(1));
        _redis = redis;
        _key = key;
        _limit = limit;
        _batch = Math.Min(batch, limit);
        _windowMs = (long)window.TotalMilliseconds;
        _time = time;
        _lastUsed = time.GetTimestamp();
    }

    /// <summary>A batch that keeps Redis round trips rare at high limits and the count exact at small ones: a tenth of the limit, 1 to 1,000.</summary>
    public static int BatchFor(int limit) => Math.Clamp(limit / 10, 1, 1000);

    public override TimeSpan? IdleDuration => _time.GetElapsedTime(Interlocked.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = _available,
                TotalSuccessfulLeases = _acquired,
                TotalFailedLeases = _rejected,
            };
        }
    }

    /// <summary>Answers from memory: granted, rejected (window spent), or not yet known, which sends the caller to <see cref="AcquireAsyncCore"/>.</summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        RateLimitLease lease;
        TaskCompletionSource? ahead = null;
        long window;
        lock (_gate)
        {
            lease = TryTake(permitCount, Now()) ?? NotYet;
            window = _window;
            // Half a batch left: borrow the next one now, so a steady caller never waits for Redis.
            if (lease.IsAcquired && _batch > 1 && _available < _batch / 2 && !_spent)
            {
                ahead = StartBorrow();
            }
        }

        if (ahead is not null)
        {
            // Nobody may wait on a borrow made ahead; its failure is seen by the next request that needs it.
            ahead.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _ = BorrowAsync(window, _batch, ahead);
        }

        return lease;
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        // Every borrow either adds permits or finds the window spent, so this ends: with a permit, or rejected.
        while (true)
        {
            Task borrowing;
            TaskCompletionSource? mine = null;
            long window;
            lock (_gate)
            {
                if (TryTake(permitCount, Now()) is { } decided)
                {
                    return decided;
                }

                // One borrow at a time per caller and replica; everyone waiting shares its result.
                window = _window;
                mine = StartBorrow();
                borrowing = _borrowing!;
            }

            if (mine is not null)
            {
                await BorrowAsync(window, Math.Max(_batch, permitCount), mine);
            }

            await borrowing.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A new borrow for the caller to run, or null when one is already under way (under the gate).</summary>
    private TaskCompletionSource? StartBorrow()
    {
        if (_borrowing is not null)
        {
            return null;
        }

        var borrow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _borrowing = borrow.Task;
        return borrow;
    }

    private RateLimitLease? TryTake(int permitCount, long now)
    {
        Roll(now);
        Interlocked.Exchange(ref _lastUsed, _time.GetTimestamp());
        if (permitCount > _limit)
        {
            return Reject(now);
        }

        if (_available >= permitCount)
        {
            _available -= permitCount;
            _acquired++;
            return Granted;
        }

        return _spent ? Reject(now) : null;
    }

    private Lease Reject(long now)
    {
        _rejected++;
        return new Lease(false, TimeSpan.FromMilliseconds((_window + 1) * _windowMs - now));
    }

    private void Roll(long now)
    {
        var window = now / _windowMs;
        if (window != _window)
        {
            _window = window;
            _available = 0;
            _spent = false;
        }
    }

    private async Task BorrowAsync(long window, int wanted, TaskCompletionSource done)
    {
        try
        {
            var total = (long)await _redis.GetDatabase().ScriptEvaluateAsync(
                BorrowScript,
                [(RedisKey)$"{_key}:{window}"],
                [wanted, 2 * _windowMs]);
            var granted = (int)Math.Clamp(_limit - (total - wanted), 0, wanted);
            lock (_gate)
            {
                _borrowing = null;
                if (_window == window)
                {
                    _available += granted;
                    _spent |= granted < wanted;
                }
            }

            done.SetResult();
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _borrowing = null;
            }

            done.SetException(ex);
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
