using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Runs;

/// <summary>
/// A replica-local, short-lived copy of run records for the read path, kept coherent by the change feed: every change
/// published by any replica drops the run's entry (see <see cref="RunChangeHub"/>), and entries expire after
/// <see cref="TrackingOptions.ReadCacheLifetime"/> in case a change message was lost. Loads are single-flight, so two
/// thousand event streams woken by one change cost one store read, and hot status reads cost none.
/// </summary>
public sealed class RunRecordCache(IRunStore store, TimeProvider time, IOptions<TrackingOptions> options)
{
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>The run at <paramref name="minVersion"/> or newer (as far as the store has it), or null when it does not exist.</summary>
    public async Task<RunRecord?> GetAsync(string id, long minVersion, CancellationToken cancellationToken)
    {
        var lifetime = options.Value.ReadCacheLifetime;
        if (lifetime <= TimeSpan.Zero)
        {
            return await store.GetAsync(id, cancellationToken);
        }

        var now = time.GetTimestamp();
        if (_entries.TryGetValue(id, out var entry) && Serves(entry, minVersion, now))
        {
            var cached = await entry.Load.Task.WaitAsync(cancellationToken);
            if (cached is null || cached.Version >= minVersion)
            {
                return cached;
            }
        }

        // In the dictionary before the store read starts: a change that lands after that removes the entry, and one that
        // landed before it is already in what the read returns. So no entry outlives a change it does not contain.
        var fresh = new Entry(new TaskCompletionSource<RunRecord?>(TaskCreationOptions.RunContinuationsAsynchronously), minVersion, now + (long)(lifetime.TotalSeconds * time.TimestampFrequency));
        var winner = _entries.AddOrUpdate(id, fresh, (_, existing) => Serves(existing, minVersion, now) ? existing : fresh);
        if (winner != fresh)
        {
            // Another reader started the same load a moment ago.
            return await winner.Load.Task.WaitAsync(cancellationToken);
        }

        Trim(now);
        try
        {
            // Not the caller's token: other readers share this load.
            fresh.Load.SetResult(await store.GetAsync(id, CancellationToken.None));
        }
        catch (Exception ex)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(id, fresh));
            fresh.Load.SetException(ex);
        }

        return await fresh.Load.Task.WaitAsync(cancellationToken);
    }

    private static bool Serves(Entry entry, long minVersion, long now) =>
        entry.ExpiresAt > now
        && (entry.MinVersion >= minVersion || (entry.Load.Task.IsCompletedSuccessfully && entry.Load.Task.Result?.Version >= minVersion));

    /// <summary>Forgets the run; called for every change on the feed, before waiters are woken.</summary>
    public void Invalidate(RunChange change) => _entries.TryRemove(change.RunId, out _);

    private void Trim(long now)
    {
        if (_entries.Count <= MaxEntries)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.ExpiresAt <= now)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }

        if (_entries.Count > MaxEntries)
        {
            _entries.Clear();
        }
    }

    private sealed record Entry(TaskCompletionSource<RunRecord?> Load, long MinVersion, long ExpiresAt);
}
