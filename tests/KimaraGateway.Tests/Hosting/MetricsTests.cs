using System.Diagnostics.Metrics;
using System.Net;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KimaraGateway.Tests.Hosting;

[Collection(GatewayCollection.Name)]
public sealed class MetricsTests(GatewayFixture fixture)
{
    private IMeterFactory Meters => fixture.Gateway.Services.GetRequiredService<IMeterFactory>();

    [Fact]
    public async Task Submitting_A_Run_Counts_It_Per_App_And_Times_The_Upstream_Call()
    {
        using var submitted = new MetricCollector<long>(Meters, GatewayMetrics.MeterName, "kimara_gateway.runs.submitted");
        using var calls = new MetricCollector<long>(Meters, GatewayMetrics.MeterName, "kimara_gateway.upstream.calls");
        using var duration = new MetricCollector<double>(Meters, GatewayMetrics.MeterName, "kimara_gateway.upstream.duration");
        using var client = fixture.Gateway.CreateCallerClient();

        await client.SubmitTextToImageAsync();

        var run = Assert.Single(submitted.GetMeasurementSnapshot());
        Assert.Equal(1, run.Value);
        Assert.Equal("text-to-image", run.Tags["app_id"]);
        Assert.Equal("ok", run.Tags["outcome"]);
        var post = Assert.Single(calls.GetMeasurementSnapshot(), m => (string?)m.Tags["route"] == "POST /runs");
        Assert.Equal("ok", post.Tags["outcome"]);
        Assert.Matches("^2[0-9][0-9]$", (string)post.Tags["status"]!);
        Assert.Contains(duration.GetMeasurementSnapshot(), m => (string?)m.Tags["route"] == "POST /runs" && m.Value > 0);
    }

    [Fact]
    public async Task A_Submission_Kimara_Refuses_Counts_A_Failed_Run_With_Its_Error_Code()
    {
        using var failed = new MetricCollector<long>(Meters, GatewayMetrics.MeterName, "kimara_gateway.runs.failed");
        using var calls = new MetricCollector<long>(Meters, GatewayMetrics.MeterName, "kimara_gateway.upstream.calls");
        using var client = fixture.Gateway.CreateCallerClient();
        await fixture.Upstream.SetFaultsAsync(new { error_rate = 1.0, error_status = 400, target = "post" });
        try
        {
            using var response = await client.SubmitAsync("text-to-image", new { prompt = "refused" });

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }
        finally
        {
            await fixture.Upstream.ClearFaultsAsync();
        }

        var run = Assert.Single(failed.GetMeasurementSnapshot());
        Assert.Equal("text-to-image", run.Tags["app_id"]);
        Assert.Equal("upstream_rejected", run.Tags["error_code"]);
        var post = Assert.Single(calls.GetMeasurementSnapshot(), m => (string?)m.Tags["route"] == "POST /runs");
        Assert.Equal("400", post.Tags["status"]);
        Assert.Equal("rejected", post.Tags["outcome"]);
        Assert.Equal("upstream_rejected", post.Tags["reason"]);
    }

    [Fact]
    public async Task Metrics_Endpoint_Serves_Prometheus_Text_Without_Credentials()
    {
        using var caller = fixture.Gateway.CreateCallerClient();
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        await caller.SubmitTextToImageAsync();

        using var response = await anonymous.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE kimara_gateway_runs_submitted_total counter", text, StringComparison.Ordinal);
        Assert.Matches("kimara_gateway_runs_submitted_total\\{[^}]*app_id=\"text-to-image\"", text);
        Assert.Contains("kimara_gateway_upstream_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Instruments_For_Other_Features_Record_Under_Their_Documented_Names()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var metrics = new GatewayMetrics(meters);
        using var lag = new MetricCollector<double>(meters, GatewayMetrics.MeterName, "kimara_gateway.tracker.lag");
        using var cached = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.reads.cache_served");
        using var bytes = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.rehost.bytes");
        using var rehostFailures = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.rehost.failures");
        using var subscribers = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.sse.subscribers");
        using var rejections = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.rate_limit.rejections");
        using var completed = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "kimara_gateway.runs.completed");

        metrics.TrackerLag(TimeSpan.FromMilliseconds(1500));
        metrics.TrackerLag(TimeSpan.FromSeconds(-1));
        metrics.CacheServedRead("GET /runs/{id}");
        metrics.RehostBytes(4096);
        metrics.RehostFailed("too_large");
        var subscription = metrics.SseSubscribed();
        subscription.Dispose();
        subscription.Dispose();
        metrics.RateLimitRejected("per_caller");
        metrics.RunCompleted("upscaler");

        Assert.Equal([1.5, 0], lag.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal("GET /runs/{id}", Assert.Single(cached.GetMeasurementSnapshot()).Tags["route"]);
        Assert.Equal(4096, Assert.Single(bytes.GetMeasurementSnapshot()).Value);
        Assert.Equal("too_large", Assert.Single(rehostFailures.GetMeasurementSnapshot()).Tags["reason"]);
        Assert.Equal([1L, -1L], subscribers.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal("per_caller", Assert.Single(rejections.GetMeasurementSnapshot()).Tags["policy"]);
        Assert.Equal("upscaler", Assert.Single(completed.GetMeasurementSnapshot()).Tags["app_id"]);
    }
}
