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

    protected RunRecord NewRun(string caller = "alice", string app = "text-to-image", DateTimeOffset? at = null)
    {
        var now = at ?? Time.GetUtcNow();
        return new RunRecord { Id = RunIds.New(), CallerId = caller, AppId = app, CreatedAt = now, UpdatedAt = now, History = [new RunTransition(1, RunStatus.Queued, now)] };
    }

    protected async Task<IReadOnlyList<string>> ClaimIdsAsync(DateTimeOffset now, string owner, TimeSpan lease, int max, int budgetPerSecond, CancellationToken cancellationToken) =>
        [.. (await Store.ClaimDueAsync(now, owner, lease, max, budgetPerSecond, cancellationToken)).Select(c => c.Id)];

    [Fact]
    public async Task A_Claim_Reports_When_Each_Run_Was_Due()
    {
        var now = Time.GetUtcNow();
        var run = NewRun();
        var due = now.AddMilliseconds(-2500);
        await Store.CreateAsync(run, due, default);

        var claimed = Assert.Single(await Store.ClaimDueAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 0, default));

        Assert.Equal(run.Id, claimed.Id);
        Assert.Equal(due.ToUnixTimeMilliseconds(), claimed.Due.ToUnixTimeMilliseconds());
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

        var first = await ClaimIdsAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 0, default);
        var second = await ClaimIdsAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default);

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
        Assert.Contains(run.Id, await ClaimIdsAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 0, default));

        await Store.ScheduleAsync(run.Id, now, default);
        await Store.ReleaseAsync(RunPoller.LeaseName(run.Id), "replica-b", default);
        Assert.DoesNotContain(run.Id, await ClaimIdsAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default));

        await Store.ReleaseAsync(RunPoller.LeaseName(run.Id), "replica-a", default);
        await Store.ScheduleAsync(run.Id, now, default);
        Assert.Contains(run.Id, await ClaimIdsAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 0, default));
    }

    [Fact]
    public async Task Claims_Stay_Within_The_Poll_Budget_Of_The_Second()
    {
        var now = Time.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            await Store.CreateAsync(NewRun(), now.AddSeconds(-1), default);
        }

        var first = await ClaimIdsAsync(now, "replica-a", TimeSpan.FromSeconds(10), 100, 3, default);
        var second = await ClaimIdsAsync(now, "replica-b", TimeSpan.FromSeconds(10), 100, 3, default);
        var nextSecond = await ClaimIdsAsync(now.AddSeconds(1), "replica-b", TimeSpan.FromSeconds(10), 100, 3, default);

        Assert.Equal(3, first.Count);
        Assert.Empty(second);
        Assert.Equal(2, nextSecond.Count);
    }

    [Fact]
    public async Task An_On_Demand_Claim_Takes_The_Runs_Lease_And_A_Poll_Of_The_Budget()
    {
        var now = Time.GetUtcNow();
        var runs = Enumerable.Range(0, 3).Select(_ => NewRun()).ToList();
        foreach (var run in runs)
        {
            await Store.CreateAsync(run, now.AddSeconds(-1), default);
        }

        var claimed = await ClaimIdsAsync(now, "tracker", TimeSpan.FromSeconds(10), 1, 2, default);
        var held = await Store.TryClaimAsync(claimed[0], now, "reader", TimeSpan.FromSeconds(10), 2, default);
        var other = runs.Select(r => r.Id).Except(claimed).ToList();
        var withinBudget = await Store.TryClaimAsync(other[0], now, "reader", TimeSpan.FromSeconds(10), 2, default);
        var overBudget = await Store.TryClaimAsync(other[1], now, "reader", TimeSpan.FromSeconds(10), 2, default);
        var nextSecond = await Store.TryClaimAsync(other[1], now.AddSeconds(1), "reader", TimeSpan.FromSeconds(10), 2, default);
        var trackerAfter = await ClaimIdsAsync(now, "tracker", TimeSpan.FromSeconds(10), 10, 2, default);

        Assert.False(held);
        Assert.True(withinBudget);
        Assert.False(overBudget);
        Assert.True(nextSecond);
        Assert.Empty(trackerAfter);
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
        Assert.DoesNotContain(run.Id, await ClaimIdsAsync(Time.GetUtcNow().AddHours(1), "a", TimeSpan.FromSeconds(5), 100, 0, default));
    }

    [Fact]
    public async Task A_Late_Schedule_Does_Not_Bring_A_Finished_Run_Back_Into_The_Active_Set()
    {
        var run = NewRun();
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        await Store.TryUpdateAsync(run.Fail(RunErrorCodes.RunFailed, "boom", Time.GetUtcNow()), run.Version, default);

        await Store.ScheduleAsync(run.Id, Time.GetUtcNow(), default);
        await Store.ScheduleAsync(RunIds.New(), Time.GetUtcNow(), default);

        Assert.Null(await Store.GetDueAsync(run.Id, default));
        Assert.DoesNotContain(run.Id, await ClaimIdsAsync(Time.GetUtcNow().AddHours(1), "a", TimeSpan.FromSeconds(5), 100, 0, default));
    }

    [Fact]
    public async Task Schedule_Moves_An_Active_Runs_Next_Poll()
    {
        var run = NewRun();
        await Store.CreateAsync(run, Time.GetUtcNow(), default);

        await Store.ScheduleAsync(run.Id, Time.GetUtcNow().AddSeconds(5), default);

        Assert.Equal(Time.GetUtcNow().AddSeconds(5).ToUnixTimeMilliseconds(), (await Store.GetDueAsync(run.Id, default))!.Value.ToUnixTimeMilliseconds());
        Assert.DoesNotContain(run.Id, await ClaimIdsAsync(Time.GetUtcNow().AddSeconds(4), "a", TimeSpan.FromSeconds(5), 100, 0, default));
        Assert.Contains(run.Id, await ClaimIdsAsync(Time.GetUtcNow().AddSeconds(5), "a", TimeSpan.FromSeconds(5), 100, 0, default));
    }

    [Fact]
    public async Task History_Keeps_Paging_Past_Runs_Filtered_Out()
    {
        var caller = "f-" + Guid.NewGuid().ToString("N");
        var start = Time.GetUtcNow();
        var runs = Enumerable.Range(0, 9).Select(i => NewRun(caller: caller, at: start.AddSeconds(i), app: i % 3 == 0 ? "wanted" : "other")).ToList();
        foreach (var run in runs)
        {
            await Store.CreateAsync(run, start, default);
        }

        var ids = new List<string>();
        string? cursor = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await Store.ListAsync(caller, new RunListQuery(1, cursor, AppId: "wanted"), default);
            ids.AddRange(page.Runs.Select(r => r.Id));
            if ((cursor = page.NextCursor) is null)
            {
                break;
            }
        }

        Assert.Equal(runs.Where(r => r.AppId == "wanted").Reverse().Select(r => r.Id), ids);
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
    public async Task A_Run_Whose_Record_Is_Gone_Leaves_The_Active_Set_At_The_Next_Claim()
    {
        var run = NewRun();
        await Store.CreateAsync(run, Time.GetUtcNow(), default);
        await _redis!.GetDatabase().KeyDeleteAsync(Options.KeyPrefix + "run:" + run.Id);

        var claimed = await ClaimIdsAsync(Time.GetUtcNow(), "a", TimeSpan.FromSeconds(5), 100, 0, default);

        Assert.DoesNotContain(run.Id, claimed);
        Assert.Null(await Store.GetDueAsync(run.Id, default));
    }

    [Fact]
    public async Task The_Callers_Index_Expires_With_Its_Last_Finished_Run_And_Lives_Again_With_A_New_One()
    {
        var caller = "i-" + Guid.NewGuid().ToString("N");
        var index = (RedisKey)(Options.KeyPrefix + "caller:" + caller + ":runs");
        var first = NewRun(caller: caller);
        var second = NewRun(caller: caller);
        await Store.CreateAsync(first, Time.GetUtcNow(), default);
        await Store.CreateAsync(second, Time.GetUtcNow(), default);

        await Store.TryUpdateAsync(first.Fail(RunErrorCodes.RunFailed, "x", Time.GetUtcNow()), first.Version, default);
        var whileOneIsActive = await _redis!.GetDatabase().KeyTimeToLiveAsync(index);
        await Store.TryUpdateAsync(second.Fail(RunErrorCodes.RunFailed, "x", Time.GetUtcNow()), second.Version, default);
        var whenAllFinished = await _redis.GetDatabase().KeyTimeToLiveAsync(index);
        await Store.CreateAsync(NewRun(caller: caller), Time.GetUtcNow(), default);
        var withANewRun = await _redis.GetDatabase().KeyTimeToLiveAsync(index);

        Assert.Null(whileOneIsActive);
        Assert.NotNull(whenAllFinished);
        Assert.InRange(whenAllFinished.Value, Options.Retention - TimeSpan.FromSeconds(5), Options.Retention);
        Assert.Null(withANewRun);
    }

    [Fact]
    public async Task The_Callers_Index_Sheds_Runs_That_Expired_When_Another_Run_Finishes()
    {
        var caller = "e-" + Guid.NewGuid().ToString("N");
        var index = (RedisKey)(Options.KeyPrefix + "caller:" + caller + ":runs");
        var old = NewRun(caller: caller, at: Time.GetUtcNow() - (Options.Retention * 2));
        await Store.CreateAsync(old, Time.GetUtcNow(), default);
        await Store.TryUpdateAsync(old.Fail(RunErrorCodes.RunFailed, "x", old.CreatedAt), old.Version, default);
        // What the retention does to it in Redis, without waiting for it.
        await _redis!.GetDatabase().KeyDeleteAsync(Options.KeyPrefix + "run:" + old.Id);

        var recent = NewRun(caller: caller);
        await Store.CreateAsync(recent, Time.GetUtcNow(), default);
        await Store.TryUpdateAsync(recent.Fail(RunErrorCodes.RunFailed, "x", Time.GetUtcNow()), recent.Version, default);

        Assert.Null(await _redis.GetDatabase().SortedSetScoreAsync(index, old.Id));
        Assert.NotNull(await _redis.GetDatabase().SortedSetScoreAsync(index, recent.Id));
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
