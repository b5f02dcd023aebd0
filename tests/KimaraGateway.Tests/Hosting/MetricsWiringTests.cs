using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;

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
/// Each instrument the features record, seen where operators see it: a series in the Prometheus text at <c>/metrics</c>,
/// with its labels, whose value moved after the flow that should move it.
/// </summary>
public sealed partial class MetricsWiringTests(MetricsWiringGateway fixture) : IClassFixture<MetricsWiringGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_Completed_Run_Moves_Completed_Rehost_Bytes_Tracker_Lag_And_Store_Served_Reads()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var before = await ScrapeAsync();

        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        var run = await client.WaitForTerminalAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        var bytes = run["output"]!["bytes"]!.GetValue<long>();
        await AssertMovedAsync(before, "kimara_gateway_runs_completed_total", 1, ("app_id", "text-to-image"));
        await AssertMovedAsync(before, "kimara_gateway_rehost_bytes_total", bytes);
        await AssertMovedAsync(before, "kimara_gateway_tracker_lag_seconds_count", 1);
        await AssertMovedAsync(before, "kimara_gateway_reads_cache_served_total", 1, ("route", "GET /runs/{id}"));
    }

    [Fact]
    public async Task A_Run_Kimara_Fails_Is_Counted_Once_With_Its_Error_Code()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var before = await ScrapeAsync();

        var id = (await client.SubmitTextToImageAsync("this one will [fail]"))["id"]!.GetValue<string>();
        var run = await client.WaitForTerminalAsync(id);

        Assert.Equal("run_failed", run["error_code"]!.GetValue<string>());
        var after = await AssertMovedAsync(before, "kimara_gateway_runs_failed_total", 1, ("app_id", "text-to-image"), ("error_code", "run_failed"));
        Assert.Equal(1, Sum(after, "kimara_gateway_runs_failed_total", ("error_code", "run_failed")) - Sum(before, "kimara_gateway_runs_failed_total", ("error_code", "run_failed")));
    }

    [Fact]
    public async Task An_Output_That_Cannot_Be_Rehosted_Counts_A_Rehost_Failure_By_Reason()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var before = await ScrapeAsync();
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

        await AssertMovedAsync(before, "kimara_gateway_rehost_failures_total", 1, ("reason", "content_type_refused"));
        await AssertMovedAsync(before, "kimara_gateway_runs_failed_total", 1, ("app_id", "text-to-image"), ("error_code", "output_unavailable"));
    }

    [Fact]
    public async Task An_Open_Event_Stream_Is_A_Subscriber_Until_It_Ends()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var before = await ScrapeAsync();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        await using (var reader = new SseReader(await client.OpenEventsAsync(id), fixture.Simulator.ApiKey))
        {
            Assert.NotNull(await reader.ReadAsync(CancellationToken.None));

            await AssertMovedAsync(before, "kimara_gateway_sse_subscribers", 1);
            await reader.ReadToEndAsync(TimeSpan.FromSeconds(30));
        }

        var after = await EventuallyAsync(s => Sum(s, "kimara_gateway_sse_subscribers") == Sum(before, "kimara_gateway_sse_subscribers"));
        Assert.Equal(Sum(before, "kimara_gateway_sse_subscribers"), Sum(after, "kimara_gateway_sse_subscribers"));
        await AssertMovedAsync(before, "kimara_gateway_reads_cache_served_total", 1, ("route", "GET /runs/{id}/events"));
    }

    [Fact]
    public async Task Rejections_By_The_Rate_Limiter_And_The_Submission_Limits_Are_Counted_By_Policy()
    {
        using var client = fixture.Gateway.CreateCallerClient(TestCallers.Limited);
        var before = await ScrapeAsync();

        var first = await client.SubmitTextToImageAsync("the one active run");
        using var secondWhileActive = await client.SubmitAsync("text-to-image", new { prompt = "over the concurrent limit" });
        using var thirdInAMinute = await client.SubmitAsync("text-to-image", new { prompt = "over the per-minute limit" });

        Assert.Equal(HttpStatusCode.TooManyRequests, secondWhileActive.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, thirdInAMinute.StatusCode);
        await AssertMovedAsync(before, "kimara_gateway_rate_limit_rejections_total", 1, ("policy", "concurrent-runs"));
        await AssertMovedAsync(before, "kimara_gateway_rate_limit_rejections_total", 1, ("policy", "submissions"));
        await client.WaitForTerminalAsync(first["id"]!.GetValue<string>());
    }

    private async Task<string> ScrapeAsync()
    {
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        using var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// Scrapes until <paramref name="series"/> (summed over the series carrying <paramref name="labels"/>) grew by at least
    /// <paramref name="by"/>: a run's end is counted just after the store write a reader may already have seen, and the
    /// exporter may serve a scrape from its short cache.
    /// </summary>
    private async Task<string> AssertMovedAsync(string before, string series, double by, params (string Name, string Value)[] labels)
    {
        var was = Sum(before, series, labels);
        var after = await EventuallyAsync(s => Sum(s, series, labels) >= was + by);
        var now = Sum(after, series, labels);
        Assert.True(now >= was + by,
            $"{series}{{{string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} went from {was} to {now}, expected a rise of {by}. Scrape:\n{after}");
        return after;
    }

    private async Task<string> EventuallyAsync(Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (condition(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The sum of every sample of <paramref name="series"/> whose labels include <paramref name="labels"/>; 0 when none.</summary>
    private static double Sum(string scrape, string series, params (string Name, string Value)[] labels) =>
        Sample().Matches(scrape)
            .Where(m => m.Groups["name"].Value == series)
            .Where(m =>
            {
                var present = Label().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups["key"].Value, l => l.Groups["value"].Value);
                return labels.All(l => present.TryGetValue(l.Name, out var v) && v == l.Value);
            })
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})?[ ](?<value>\S+)""", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
