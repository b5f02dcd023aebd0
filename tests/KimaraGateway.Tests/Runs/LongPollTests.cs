using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using KimaraGateway.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KimaraGateway.Tests.Runs;

/// <summary><c>GET /runs/{id}?wait=N</c> over HTTP, with a short N.</summary>
[Collection(GatewayCollection.Name)]
public sealed class LongPollTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Wait_Answers_As_Soon_As_The_Status_Differs_From_If_None_Match()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        using var first = await client.GetAsync($"/runs/{id}");
        var etag = first.Headers.ETag!.ToString();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}?wait=30");
        request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        using var changed = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag!.ToString());
        Assert.NotEqual("queued", (await changed.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wait_Without_If_None_Match_Answers_At_Once()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var response = await client.GetAsync($"/runs/{id}?wait=30");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("queued", (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wait_With_If_None_Match_Star_Answers_304_At_Once()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}?wait=30");
        request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), "A long poll on * can only ever end in 304; it must not wait.");
    }

    [Theory]
    [InlineData("31")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    public async Task Wait_Outside_Zero_To_Thirty_Whole_Seconds_Is_A_400_Problem(string wait)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var response = await client.GetAsync($"/runs/{id}?wait={Uri.EscapeDataString(wait)}");
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", problem["code"]!.GetValue<string>());
        Assert.NotNull(problem["errors"]!["wait"]);
    }
}

/// <summary>The timeout side of <c>?wait=N</c>, on a gateway whose run does not change.</summary>
public sealed class LongPollTimeoutTests
{
    [Fact]
    public async Task Wait_Answers_304_After_N_Seconds_When_Nothing_Changed()
    {
        // Kimara keeps the run queued for half a minute: the tracker's polls change nothing a caller sees.
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o => o.QueuedSeconds = 30);
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString);
        using var client = gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        using var first = await client.GetAsync($"/runs/{id}");
        var etag = first.Headers.ETag!.ToString();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}?wait=1");
        request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        var clock = Stopwatch.StartNew();
        using var unchanged = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Equal(etag, unchanged.Headers.ETag!.ToString());
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"Answered after {clock.Elapsed}, before the wait was over.");
    }
}

/// <summary><see cref="RunReader.WaitForChangeAsync"/> on a fake clock: early on a change, at the timeout otherwise.</summary>
public sealed class LongPollClockTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryRunStore _store;
    private readonly RunChangeHub _hub;
    private readonly RunReader _reader;
    private readonly StoppingLifetime _lifetime = new();

    public LongPollClockTests()
    {
        _store = new InMemoryRunStore(Options.Create(new RunStoreOptions()), _time);
        var tracking = Options.Create(new TrackingOptions());
        var cache = new RunRecordCache(_store, _time, tracking);
        _hub = new RunChangeHub(_store, cache);
        var metrics = TestMetrics.Detached();
        var poller = new RunPoller(_store, DetachedKimaraClient.Create(_time),
            new ImmediateCompletion(_time), _time, tracking, metrics, NullLogger<RunPoller>.Instance);
        _reader = new RunReader(_store, cache, poller, _hub, _time, tracking, metrics, _lifetime, Microsoft.Extensions.Logging.Abstractions.NullLogger<RunReader>.Instance);
    }

    [Fact]
    public async Task Wait_Returns_The_New_Version_As_Soon_As_It_Is_Written()
    {
        await _hub.StartAsync(default);
        var run = await CreateRunAsync();

        var waiting = _reader.WaitForChangeAsync(run, TimeSpan.FromSeconds(30), default);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);
        await _store.TryUpdateAsync(run.Advance(RunStatus.Running, _time.GetUtcNow()), run.Version, default);
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(RunStatus.Running, result!.Status);
        Assert.Equal(run.Version + 1, result.Version);
    }

    [Fact]
    public async Task Wait_Returns_The_Same_Version_When_The_Timeout_Passes_Without_A_Change()
    {
        await _hub.StartAsync(default);
        var run = await CreateRunAsync();

        var waiting = _reader.WaitForChangeAsync(run, TimeSpan.FromSeconds(30), default);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(waiting.IsCompleted);
        // Writes that change nothing a caller sees (the tracker's LastPolledAt) do not end the wait.
        await _store.TryUpdateAsync(run with { LastPolledAt = _time.GetUtcNow() }, run.Version, default);
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(run.Version, result!.Version);
        Assert.Equal(0, _hub.SubscriberCount);
    }

    [Fact]
    public async Task Wait_Ends_When_The_Replica_Starts_Stopping()
    {
        await _hub.StartAsync(default);
        var run = await CreateRunAsync();

        var waiting = _reader.WaitForChangeAsync(run, TimeSpan.FromSeconds(30), default);
        Assert.False(waiting.IsCompleted);
        _lifetime.Stop();
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(run.Version, result!.Version);
    }

    private async Task<RunRecord> CreateRunAsync()
    {
        var now = _time.GetUtcNow();
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "text-to-image", Stage = RunStage.Tracking, UpstreamId = "run_x", CreatedAt = now, UpdatedAt = now, History = [new RunTransition(1, RunStatus.Queued, now)] };
        await _store.CreateAsync(run, now.AddSeconds(2), default);
        return run;
    }
}

/// <summary>An application lifetime whose stopping the test triggers.</summary>
internal sealed class StoppingLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopping.Cancel();

    public void Stop() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}
