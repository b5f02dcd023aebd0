using System.Threading.Channels;

namespace KimaraGateway.Runs;

/// <summary>
/// One subscription to the store's change feed per replica, fanned out in process to every waiter on a run
/// (event streams and long polls), so a thousand subscribers cost one Redis subscription. It also keeps this replica's
/// <see cref="RunRecordCache"/> coherent.
/// </summary>
public sealed class RunChangeHub(IRunStore store, RunRecordCache cache) : IHostedService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<Channel<RunChange>>> _waiters = new(StringComparer.Ordinal);
    private int _subscribers;

    /// <summary>Number of open subscriptions on this replica.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers);

    public Task StartAsync(CancellationToken cancellationToken) => store.SubscribeAsync(Publish, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Receives every change of <paramref name="runId"/> from now until the subscription is disposed.</summary>
    public Subscription Subscribe(string runId)
    {
        // Only the newest change matters to a subscriber, which re-reads the run: a slow reader never grows a queue.
        var channel = Channel.CreateBounded<RunChange>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            if (!_waiters.TryGetValue(runId, out var channels))
            {
                _waiters[runId] = channels = [];
            }

            channels.Add(channel);
            _subscribers++;
        }

        return new Subscription(this, runId, channel);
    }

    private void Publish(RunChange change)
    {
        // Before waking anyone, so a woken reader never gets the old record from the cache.
        cache.Invalidate(change);
        Channel<RunChange>[] targets;
        lock (_gate)
        {
            if (!_waiters.TryGetValue(change.RunId, out var channels))
            {
                return;
            }

            targets = [.. channels];
        }

        foreach (var channel in targets)
        {
            channel.Writer.TryWrite(change);
        }
    }

    private void Remove(string runId, Channel<RunChange> channel)
    {
        lock (_gate)
        {
            if (_waiters.TryGetValue(runId, out var channels) && channels.Remove(channel))
            {
                _subscribers--;
                if (channels.Count == 0)
                {
                    _waiters.Remove(runId);
                }
            }
        }
    }

    public sealed class Subscription(RunChangeHub hub, string runId, Channel<RunChange> channel) : IDisposable
    {
        public ChannelReader<RunChange> Changes => channel.Reader;

        public void Dispose() => hub.Remove(runId, channel);
    }
}
