using System.Globalization;
using System.Threading.RateLimiting;
using KimaraGateway.Callers;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace KimaraGateway.Tests.Callers;

/// <summary>The batched read limit against a real redis-server: one count for every replica, few round trips.</summary>
public sealed class SharedWindowRateLimiterTests
{
    private static readonly DateTimeOffset QuarterPastNoon = DateTimeOffset.Parse("2026-12-04T12:00:00.250Z", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Two_Replicas_Together_Grant_Exactly_The_Limit_In_A_Window()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).ConnectionString);
        var clock = new FakeTimeProvider(QuarterPastNoon);
        var key = Key();
        using var a = new SharedWindowRateLimiter(redis, key, 100, TimeSpan.FromSeconds(1), 10, clock);
        using var b = new SharedWindowRateLimiter(redis, key, 100, TimeSpan.FromSeconds(1), 10, clock);

        // 300 concurrent requests, spread over both replicas.
        var leases = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => (i % 2 == 0 ? a : b).AcquireAsync(1).AsTask()));

        Assert.Equal(100, leases.Count(l => l.IsAcquired));
        Assert.All(leases.Where(l => !l.IsAcquired), l => Assert.True(l.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero));
    }

    [Fact]
    public async Task A_Hot_Caller_Costs_One_Redis_Round_Trip_Per_Batch_Not_Per_Request()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        using var limiter = new SharedWindowRateLimiter(redis, Key(), 10_000, TimeSpan.FromSeconds(1), 1000, new FakeTimeProvider(QuarterPastNoon));
        var before = await ScriptCallsAsync(redis);

        var granted = 0;
        for (var i = 0; i < 5000; i++)
        {
            using var lease = limiter.AttemptAcquire() is { IsAcquired: true } hit ? hit : await limiter.AcquireAsync();
            granted += lease.IsAcquired ? 1 : 0;
        }

        // Five batches, and at most one more borrowed ahead when the last ran low.
        Assert.Equal(5000, granted);
        Assert.InRange(await ScriptCallsAsync(redis) - before, 5, 6);
    }

    [Fact]
    public async Task The_Next_Batch_Is_Borrowed_Ahead_When_Half_Of_One_Is_Left()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).ConnectionString);
        using var limiter = new SharedWindowRateLimiter(redis, Key(), 10_000, TimeSpan.FromSeconds(1), 1000, new FakeTimeProvider(QuarterPastNoon));
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
        for (var i = 0; i < 500; i++)
        {
            Assert.True(limiter.AttemptAcquire().IsAcquired, $"permit {i + 2} is in the first batch");
        }

        // 499 left: the next 1,000 arrive without any request waiting for them.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (limiter.GetStatistics()!.CurrentAvailablePermits < 1499 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1499, limiter.GetStatistics()!.CurrentAvailablePermits);
    }

    [Fact]
    public async Task A_Spent_Window_Rejects_From_Memory_Until_The_Window_Turns()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        var clock = new FakeTimeProvider(QuarterPastNoon);
        using var limiter = new SharedWindowRateLimiter(redis, Key(), 3, TimeSpan.FromSeconds(1), 1, clock);

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync()).IsAcquired);
        }

        var rejected = await limiter.AcquireAsync();
        Assert.False(rejected.IsAcquired);
        Assert.True(rejected.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(750), retryAfter);

        // Known to be spent: neither the synchronous nor the waiting path asks Redis again in this window.
        var calls = await ScriptCallsAsync(redis);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        Assert.False((await limiter.AcquireAsync()).IsAcquired);
        Assert.Equal(calls, await ScriptCallsAsync(redis));

        clock.Advance(TimeSpan.FromMilliseconds(750));
        Assert.False(limiter.AttemptAcquire().IsAcquired, "a new window starts with nothing borrowed");
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
    }

    [Fact]
    public async Task A_Redis_Outage_Fails_The_Acquire_And_The_Limiter_Recovers_With_Redis()
    {
        var server = await RedisServer.StartAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        using var limiter = new SharedWindowRateLimiter(redis, Key(), 5, TimeSpan.FromSeconds(1), 1, new FakeTimeProvider(QuarterPastNoon));
        try
        {
            server.Kill();
            var failure = await Assert.ThrowsAnyAsync<Exception>(async () => await limiter.AcquireAsync());
            Assert.True(failure is RedisException or TimeoutException, failure.ToString());

            server = await server.RestartAsync();
            await WaitConnectedAsync(redis);
            Assert.True((await limiter.AcquireAsync()).IsAcquired);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(20, 2)]
    [InlineData(9, 1)]
    [InlineData(5000, 500)]
    [InlineData(1_000_000, 1000)]
    public void The_Batch_Is_A_Tenth_Of_The_Limit_Within_1_To_1000(int limit, int batch) =>
        Assert.Equal(batch, SharedWindowRateLimiter.BatchFor(limit));

    private static string Key() => $"t{Guid.NewGuid():N}:limit:reads";

    private static async Task<long> ScriptCallsAsync(ConnectionMultiplexer redis)
    {
        var server = redis.GetServers().Single();
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return Calls(stats, "cmdstat_eval") + Calls(stats, "cmdstat_evalsha");

        static long Calls(Dictionary<string, string> stats, string name) =>
            stats.TryGetValue(name, out var line) ? long.Parse(line.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture) : 0;
    }

    private static async Task WaitConnectedAsync(ConnectionMultiplexer redis)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!redis.IsConnected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(redis.IsConnected, "the multiplexer did not reconnect");
    }
}
