using System.Diagnostics.Metrics;
using System.Net;
using Kimara.Simulator;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KimaraGateway.Tests.Hosting;

/// <summary>
/// A gateway of its own (so no other class's runs move its counters) whose <see cref="TestCallers.Limited"/> caller may
/// submit twice a minute with one run active at a time.
/// </summary>
public sealed class MetricsWiringGateway : IAsyncLifetime
{
    public SimulatorServer Simulator { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public SimulatorClient Upstream { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await GatewayFixture.StartSimulatorAsync();
        Gateway = new GatewayFactory(Simulator, (await RedisServer.Shared).ConnectionString, new Dictionary<string, string?>(
        [
            TestCallers.Limit(TestCallers.Limited, "SubmissionsPerMinute", 2),
            TestCallers.Limit(TestCallers.Limited, "ConcurrentRuns", 1),
        ]));
        Upstream = new SimulatorClient(Simulator);
        _ = Gateway.Server;
    }

    public async Task DisposeAsync()
    {
        Upstream.Dispose();
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

/// <summary>
/// Each instrument the features record, recorded by the flow that should move it, with its tags. Collected from this
/// gateway's own meter factory: the Prometheus text of a test host can show another host's meter of the same name when
/// several gateways share the test process (one gateway per process in production), so it would not say whose counter moved.
/// </summary>
public sealed class MetricsWiringTests(MetricsWiringGateway fixture) : IClassFixture<MetricsWiringGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private IMeterFactory Meters => fixture.Gateway.Services.GetRequiredService<IMeterFactory>();

    [Fact]
    public async Task A_Completed_Run_Moves_Completed_Rehost_Bytes_Tracker_Lag_And_Store_Served_Reads()
    {
        using var completed = Collect<long>("kimara_gateway.runs.completed");
        using var bytes = Collect<long>("kimara_gateway.rehost.bytes");
        using var lag = Collect<double>("kimara_gateway.tracker.lag");
        using var reads = Collect<long>("kimara_gateway.reads.cache_served");
        using var client = fixture.Gateway.CreateCallerClient();

        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        var run = await client.WaitForTerminalAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        await AssertMovedAsync(completed, 1, ("app_id", "text-to-image"));
        await AssertMovedAsync(bytes, run["output"]!["bytes"]!.GetValue<long>());
        await AssertMovedAsync(reads, 1, ("route", "GET /runs/{id}"));
        Assert.NotEmpty(lag.GetMeasurementSnapshot());
        Assert.All(lag.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
    }

    [Fact]
    public async Task A_Run_Kimara_Fails_Is_Counted_Once_With_Its_Error_Code()
    {
        using var failed = Collect<long>("kimara_gateway.runs.failed");
        using var client = fixture.Gateway.CreateCallerClient();

        var id = (await client.SubmitTextToImageAsync("this one will [fail]"))["id"]!.GetValue<string>();
        var run = await client.WaitForTerminalAsync(id);

        Assert.Equal("run_failed", run["error_code"]!.GetValue<string>());
        await AssertMovedAsync(failed, 1, ("app_id", "text-to-image"), ("error_code", "run_failed"));
        Assert.Equal(1, Sum(failed, ("error_code", "run_failed")));
    }

    [Fact]
    public async Task An_Output_That_Cannot_Be_Rehosted_Counts_A_Rehost_Failure_By_Reason()
    {
        using var rehostFailures = Collect<long>("kimara_gateway.rehost.failures");
        using var failed = Collect<long>("kimara_gateway.runs.failed");
        using var client = fixture.Gateway.CreateCallerClient();
        await fixture.Upstream.SetFaultsAsync(new { output_content_type = "text/html" });
        try
        {
            var id = (await client.SubmitTextToImageAsync("served as html"))["id"]!.GetValue<string>();
            var run = await client.WaitForTerminalAsync(id);

            Assert.Equal("output_unavailable", run["error_code"]!.GetValue<string>());
        }
        finally
        {
            await fixture.Upstream.ClearFaultsAsync();
        }

        await AssertMovedAsync(rehostFailures, 1, ("reason", "content_type_refused"));
        await AssertMovedAsync(failed, 1, ("app_id", "text-to-image"), ("error_code", "output_unavailable"));
    }

    [Fact]
    public async Task An_Open_Event_Stream_Is_A_Subscriber_Until_It_Ends()
    {
        using var subscribers = Collect<long>("kimara_gateway.sse.subscribers");
        using var reads = Collect<long>("kimara_gateway.reads.cache_served");
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        await using (var reader = new SseReader(await client.OpenEventsAsync(id), fixture.Simulator.ApiKey))
        {
            Assert.NotNull(await reader.ReadAsync(CancellationToken.None));

            await AssertMovedAsync(subscribers, 1);
            await reader.ReadToEndAsync(TimeSpan.FromSeconds(30));
        }

        await EventuallyAsync(() => Sum(subscribers) == 0);
        Assert.Equal([1L, -1L], subscribers.GetMeasurementSnapshot().Select(m => m.Value));
        await AssertMovedAsync(reads, 1, ("route", "GET /runs/{id}/events"));
    }

    [Fact]
    public async Task Rejections_By_The_Rate_Limiter_And_The_Submission_Limits_Are_Counted_By_Policy()
    {
        using var rejections = Collect<long>("kimara_gateway.rate_limit.rejections");
        using var client = fixture.Gateway.CreateCallerClient(TestCallers.Limited);

        var first = await client.SubmitTextToImageAsync("the one active run");
        using var secondWhileActive = await client.SubmitAsync("text-to-image", new { prompt = "over the concurrent limit" });
        using var thirdInAMinute = await client.SubmitAsync("text-to-image", new { prompt = "over the per-minute limit" });

        Assert.Equal(HttpStatusCode.TooManyRequests, secondWhileActive.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, thirdInAMinute.StatusCode);
        Assert.Equal(1, Sum(rejections, ("policy", "concurrent-runs")));
        Assert.Equal(1, Sum(rejections, ("policy", "submissions")));
        await client.WaitForTerminalAsync(first["id"]!.GetValue<string>());
    }

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(Meters, GatewayMetrics.MeterName, instrument);

    /// <summary>
    /// Waits until the measurements carrying <paramref name="tags"/> add up to at least <paramref name="by"/>: a run's end
    /// is recorded just after the store write that a reader may already have seen.
    /// </summary>
    private static async Task AssertMovedAsync<T>(MetricCollector<T> collector, double by, params (string Name, string Value)[] tags)
        where T : struct
    {
        await EventuallyAsync(() => Sum(collector, tags) >= by);
        var sum = Sum(collector, tags);
        Assert.True(sum >= by,
            $"{collector.Instrument?.Name}{{{string.Join(",", tags.Select(t => $"{t.Name}={t.Value}"))}}} moved by {sum}, expected {by}; " +
            $"recorded: {string.Join("; ", collector.GetMeasurementSnapshot().Select(m => $"{m.Value} [{string.Join(",", m.Tags.Select(t => $"{t.Key}={t.Value}"))}]"))}");
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }

    private static double Sum<T>(MetricCollector<T> collector, params (string Name, string Value)[] tags)
        where T : struct =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Name, out var v) && (string?)v == t.Value))
            .Sum(m => Convert.ToDouble(m.Value, System.Globalization.CultureInfo.InvariantCulture));
}
