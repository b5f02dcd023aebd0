using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace KimaraGateway.Tests.Runs;

/// <summary>The replica-local read cache over the Redis store: coherent through the change feed, bounded in age, single-flight.</summary>
public sealed class RunRecordCacheTests : IAsyncLifetime
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly RunStoreOptions _options = new() { KeyPrefix = $"k{Guid.NewGuid():N}:"[..12] };
    private ConnectionMultiplexer _redis = null!;
    private RedisRunStore _store = null!;
    private RunRecordCache _cache = null!;
    private RunChangeHub _hub = null!;

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).ConnectionString);
        _store = new RedisRunStore(_redis, Options.Create(_options));
        _cache = new RunRecordCache(_store, _time, Options.Create(new TrackingOptions { ReadCacheLifetime = Lifetime }));
        _hub = new RunChangeHub(_store, _cache);
        await _hub.StartAsync(default);
    }

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_Published_Change_Evicts_The_Cached_Record_At_Once()
    {
        var run = await CreateAsync();
        Assert.Equal(1, (await _cache.GetAsync(run.Id, 0, default))!.Version);
        using var subscription = _hub.Subscribe(run.Id);

        await _store.TryUpdateAsync(run.Advance(RunStatus.Running, _time.GetUtcNow()), run.Version, default);
        var change = await subscription.Changes.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        var read = await _cache.GetAsync(run.Id, 0, default);
        Assert.Equal(2, change.Version);
        Assert.Equal(RunStatus.Running, read!.Status);
    }

    [Fact]
    public async Task Writes_That_Publish_Nothing_Are_Seen_Once_The_Lifetime_Passed()
    {
        var run = await CreateAsync();
        await _cache.GetAsync(run.Id, 0, default);
        var polled = _time.GetUtcNow();
        await _store.TryUpdateAsync(run with { LastPolledAt = polled }, run.Version, default);

        var early = await _cache.GetAsync(run.Id, 0, default);
        _time.Advance(Lifetime);
        var late = await _cache.GetAsync(run.Id, 0, default);

        Assert.Null(early!.LastPolledAt);
        Assert.Equal(polled, late!.LastPolledAt);
    }

    [Fact]
    public async Task Concurrent_Readers_Share_One_Store_Read()
    {
        var run = await CreateAsync();

        var reads = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => _cache.GetAsync(run.Id, 0, default))));

        Assert.All(reads, r => Assert.Same(reads[0], r));
    }

    [Fact]
    public async Task Asking_For_A_Newer_Version_Than_Cached_Reads_The_Store()
    {
        var run = await CreateAsync();
        await _cache.GetAsync(run.Id, 0, default);
        // As if the change message had not arrived yet on this replica.
        await _redis.GetDatabase().HashSetAsync(_options.KeyPrefix + "run:" + run.Id, [new("v", 2), new("j", System.Text.Json.JsonSerializer.Serialize(run.Advance(RunStatus.Running, _time.GetUtcNow()), RunJsonContext.Default.RunRecord))]);

        var stale = await _cache.GetAsync(run.Id, 0, default);
        var fresh = await _cache.GetAsync(run.Id, 2, default);

        Assert.Equal(1, stale!.Version);
        Assert.Equal(2, fresh!.Version);
    }

    private async Task<RunRecord> CreateAsync()
    {
        var now = _time.GetUtcNow();
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "text-to-image", Stage = RunStage.Tracking, CreatedAt = now, UpdatedAt = now, History = [new RunTransition(1, RunStatus.Queued, now)] };
        await _store.CreateAsync(run, now.AddSeconds(2), default);
        return run;
    }
}
