using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace KimaraGateway.Tests.Runs;

/// <summary>The run store contract; the Redis store and the in-memory store must both pass every test here.</summary>
public abstract class RunStoreContractTests : IAsyncLifetime
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    protected IRunStore Store { get; private set; } = null!;

    protected RunStoreOptions Options { get; } = new() { KeyPrefix = $"c{Guid.NewGuid():N}:"[..12], Retention = TimeSpan.FromMinutes(10) };

    protected abstract Task<IRunStore> CreateStoreAsync();

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private RunRecord NewRun(string caller = "alice", string app = "text-to-image", DateTimeOffset? at = null)
    {
        var now = at ?? Time.GetUtcNow();
        return new RunRecord { Id = RunIds.New(), CallerId = caller, AppId = app, CreatedAt = now, UpdatedAt = now, History = [new RunTransition(1, RunStatus.Queued, now)] };
    }

    [Fact]
    public async Task Create_Then_Get_Returns_The_Same_Run()
    {
        var run = NewRun() with { UpstreamId = "run_up", Inputs = new System.Text.Json.Nodes.JsonObject { ["prompt"] = "x" } };
        await Store.CreateAsync(run, Time.GetUtcNow(), default);

        var read = await Store.GetAsync(run.Id, default);

        Assert.NotNull(read);
        Assert.Equal(run.Id, read.Id);
        Assert.Equal("run_up", read.UpstreamId);
        Assert.Equal("x", read.Inputs!["prompt"]!.GetValue<string>());
        Assert.Equal(run.CreatedAt, read.CreatedAt);
        Assert.Null(await Store.GetAsync(RunIds.New(), default));
    }

    [Fact]
    public async Task Update_Succeeds_Only_At_The_Expected_Version()
    {
        var run = NewRun();
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        var running = run.Advance(RunStatus.Running, Time.GetUtcNow());

        Assert.True(await Store.TryUpdateAsync(running, run.Version, default));
        Assert.False(await Store.TryUpdateAsync(running.Advance(RunStatus.Completed, Time.GetUtcNow()), run.Version, default));

        var read = await Store.GetAsync(run.Id, default);
        Assert.Equal(RunStatus.Running, read!.Status);
        Assert.Equal(2, read.Version);
        Assert.Equal([RunStatus.Queued, RunStatus.Running], read.History.Select(h => h.Status));
    }

    [Fact]
    public async Task Update_Publishes_A_Change_Only_When_The_Version_Moves()
    {
        var run = NewRun();
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        var received = new List<RunChange>();
        var second = new TaskCompletionSource();
        await Store.SubscribeAsync(change =>
        {
            if (change.RunId != run.Id)
            {
                return;
            }

            lock (received)
            {
                received.Add(change);
                if (received.Count == 1)
                {
                    second.TrySetResult();
                }
            }
        }, default);

        Assert.True(await Store.TryUpdateAsync(run with { LastPolledAt = Time.GetUtcNow() }, run.Version, default));
        Assert.True(await Store.TryUpdateAsync(run.Advance(RunStatus.Running, Time.GetUtcNow()), run.Version, default));
        await second.Task.WaitAsync(TimeSpan.FromSeconds(5));

        lock (received)
        {
            Assert.Equal([new RunChange(run.Id, 2)], received);
        }
    }

    [Fact]
    public async Task List_Is_Newest_First_Paginated_And_Filtered_Per_Caller()
    {
        var start = Time.GetUtcNow();
        var runs = Enumerable.Range(0, 7).Select(i => NewRun(at: start.AddSeconds(i), app: i % 2 == 0 ? "even" : "odd")).ToList();
        foreach (var run in runs)
        {
            await Store.CreateAsync(run, start, default);
        }

        await Store.CreateAsync(NewRun(caller: "bob"), start, default);

        var first = await Store.ListAsync("alice", new RunListQuery(3), default);
        var second = await Store.ListAsync("alice", new RunListQuery(3, first.NextCursor), default);
        var third = await Store.ListAsync("alice", new RunListQuery(3, second.NextCursor), default);
        var odd = await Store.ListAsync("alice", new RunListQuery(10, AppId: "odd"), default);

        var expected = runs.AsEnumerable().Reverse().Select(r => r.Id).ToList();
        Assert.Equal(expected, first.Runs.Concat(second.Runs).Concat(third.Runs).Select(r => r.Id));
        Assert.NotNull(first.NextCursor);
        Assert.Null(third.NextCursor);
        Assert.Equal(runs.Where(r => r.AppId == "odd").Reverse().Select(r => r.Id), odd.Runs.Select(r => r.Id));
        Assert.DoesNotContain(first.Runs.Concat(second.Runs).Concat(third.Runs), r => r.CallerId != "alice");
    }

    [Fact]
    public async Task Claim_Takes_Only_Due_Runs_And_Each_Under_One_Lease()
    {
        var now = Time.GetUtcNow();
        var due = NewRun();
        var later = NewRun();
        await Store.CreateAsync(due, now.AddSeconds(-1), default);
        await Store.CreateAsync(later, now.AddSeconds(30), default);

        var first = await Store.ClaimDueAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 0, default);
        var second = await Store.ClaimDueAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default);

        Assert.Contains(due.Id, first);
        Assert.DoesNotContain(later.Id, first);
        Assert.DoesNotContain(due.Id, second);
        Assert.Equal(now.AddSeconds(10).ToUnixTimeMilliseconds(), (await Store.GetDueAsync(due.Id, default))!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task A_Released_Lease_Lets_Another_Replica_Claim_The_Run_When_Due_Again()
    {
        var now = Time.GetUtcNow();
        var run = NewRun();
        await Store.CreateAsync(run, now, default);
        Assert.Contains(run.Id, await Store.ClaimDueAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 0, default));

        await Store.ScheduleAsync(run.Id, now, default);
        await Store.ReleaseAsync(RunPoller.LeaseName(run.Id), "replica-b", default);
        Assert.DoesNotContain(run.Id, await Store.ClaimDueAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default));

        await Store.ReleaseAsync(RunPoller.LeaseName(run.Id), "replica-a", default);
        await Store.ScheduleAsync(run.Id, now, default);
        Assert.Contains(run.Id, await Store.ClaimDueAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default));
    }

    [Fact]
    public async Task Claims_Stay_Within_The_Poll_Budget_Of_The_Second()
    {
        var now = Time.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            await Store.CreateAsync(NewRun(), now.AddSeconds(-1), default);
        }

        var first = await Store.ClaimDueAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 3, default);
        var second = await Store.ClaimDueAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 3, default);
        var nextSecond = await Store.ClaimDueAsync(now.AddSeconds(1), "replica-b", TimeSpan.FromSeconds(10), 100, 3, default);

        Assert.Equal(3, first.Count);
        Assert.Empty(second);
        Assert.Equal(2, nextSecond.Count);
    }

    [Fact]
    public async Task A_Lock_Is_Held_By_One_Owner_At_A_Time()
    {
        var name = "refresh:" + RunIds.New();

        Assert.True(await Store.TryLockAsync(name, "a", TimeSpan.FromSeconds(30), default));
        Assert.False(await Store.TryLockAsync(name, "b", TimeSpan.FromSeconds(30), default));
        await Store.ReleaseAsync(name, "b", default);
        Assert.False(await Store.TryLockAsync(name, "b", TimeSpan.FromSeconds(30), default));
        await Store.ReleaseAsync(name, "a", default);
        Assert.True(await Store.TryLockAsync(name, "b", TimeSpan.FromSeconds(30), default));
    }

    [Fact]
    public async Task Terminal_Runs_Leave_The_Active_Set_And_Free_The_Callers_Slot()
    {
        var caller = "c-" + Guid.NewGuid().ToString("N");
        var run = NewRun(caller: caller);
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        Assert.Equal(1, await Store.CountActiveAsync(caller, default));
        Assert.NotNull(await Store.GetDueAsync(run.Id, default));

        await Store.TryUpdateAsync(run.Fail(RunErrorCodes.RunFailed, "boom", Time.GetUtcNow()), run.Version, default);

        Assert.Equal(0, await Store.CountActiveAsync(caller, default));
        Assert.Null(await Store.GetDueAsync(run.Id, default));
        Assert.DoesNotContain(run.Id, await Store.ClaimDueAsync(Time.GetUtcNow().AddHours(1), "a", TimeSpan.FromSeconds(5), 100, 0, default));
    }
}

public sealed class InMemoryRunStoreContractTests : RunStoreContractTests
{
    protected override Task<IRunStore> CreateStoreAsync() =>
        Task.FromResult<IRunStore>(new InMemoryRunStore(Microsoft.Extensions.Options.Options.Create(Options), Time));

    [Fact]
    public async Task Terminal_Runs_Expire_After_The_Retention()
    {
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "a", CreatedAt = Time.GetUtcNow(), UpdatedAt = Time.GetUtcNow() };
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        await Store.TryUpdateAsync(run.Fail(RunErrorCodes.RunFailed, "x", Time.GetUtcNow()), run.Version, default);

        Time.Advance(Options.Retention - TimeSpan.FromSeconds(1));
        Assert.NotNull(await Store.GetAsync(run.Id, default));
        Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await Store.GetAsync(run.Id, default));
        Assert.Empty((await Store.ListAsync("alice", new RunListQuery(10), default)).Runs);
    }
}

public sealed class RedisRunStoreContractTests : RunStoreContractTests
{
    private ConnectionMultiplexer? _redis;

    protected override async Task<IRunStore> CreateStoreAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).ConnectionString);
        return new RedisRunStore(_redis, Microsoft.Extensions.Options.Options.Create(Options));
    }

    public override async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Terminal_Runs_Get_The_Retention_As_Time_To_Live()
    {
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "a", CreatedAt = Time.GetUtcNow(), UpdatedAt = Time.GetUtcNow() };
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        var key = Options.KeyPrefix + "run:" + run.Id;
        Assert.Null(await _redis!.GetDatabase().KeyTimeToLiveAsync(key));

        await Store.TryUpdateAsync(run.Fail(RunErrorCodes.RunFailed, "x", Time.GetUtcNow()), run.Version, default);

        var ttl = await _redis.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, Options.Retention - TimeSpan.FromSeconds(5), Options.Retention);
    }
}
