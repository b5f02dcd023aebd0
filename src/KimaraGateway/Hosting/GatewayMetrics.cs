using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace KimaraGateway.Hosting;

/// <summary>
/// The gateway's own instruments (Meter <c>KimaraGateway</c>), exported at <c>/metrics</c>. Features record through
/// these methods rather than creating meters, so names, units and tags stay consistent. Tags are bounded: App ids come
/// from the catalogue, routes and codes from the code, never from caller input.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "KimaraGateway";

    private readonly Counter<long> _runsSubmitted;
    private readonly Counter<long> _runsCompleted;
    private readonly Counter<long> _runsFailed;
    private readonly Counter<long> _upstreamCalls;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Histogram<double> _trackerLag;
    private readonly Counter<long> _cacheServedReads;
    private readonly Counter<long> _rehostBytes;
    private readonly Counter<long> _rehostFailures;
    private readonly UpDownCounter<long> _sseSubscribers;
    private readonly Counter<long> _rateLimitRejections;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _runsSubmitted = meter.CreateCounter<long>("kimara_gateway.runs.submitted", "{run}",
            "Runs submitted to Kimara, by App and upstream outcome (ok, rejected, unavailable, unknown, rate_limited).");
        _runsCompleted = meter.CreateCounter<long>("kimara_gateway.runs.completed", "{run}", "Runs that reached completed, by App.");
        _runsFailed = meter.CreateCounter<long>("kimara_gateway.runs.failed", "{run}", "Runs that reached failed, by App and error_code.");
        _upstreamCalls = meter.CreateCounter<long>("kimara_gateway.upstream.calls", "{call}",
            "Calls to Kimara, by route, HTTP status (or none), outcome and reason.");
        _upstreamDuration = meter.CreateHistogram<double>("kimara_gateway.upstream.duration", "s",
            "Duration of calls to Kimara including retries, by route and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _trackerLag = meter.CreateHistogram<double>("kimara_gateway.tracker.lag", "s",
            "How late the tracker polls a due run: now minus the run's scheduled poll time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60] });
        _cacheServedReads = meter.CreateCounter<long>("kimara_gateway.reads.cache_served", "{read}",
            "Caller reads answered from the run store without an upstream call, by route (an on-demand poll is not counted).");
        _rehostBytes = meter.CreateCounter<long>("kimara_gateway.rehost.bytes", "By", "Output bytes re-hosted into the output store.");
        _rehostFailures = meter.CreateCounter<long>("kimara_gateway.rehost.failures", "{failure}", "Output re-hosts given up on (the run failed with output_unavailable), by reason; retried transient failures are not counted.");
        _sseSubscribers = meter.CreateUpDownCounter<long>("kimara_gateway.sse.subscribers", "{subscriber}", "Open /runs/{id}/events streams.");
        _rateLimitRejections = meter.CreateCounter<long>("kimara_gateway.rate_limit.rejections", "{request}",
            "Requests refused with 429 by the gateway's own limits, by policy.");
    }

    /// <summary>A submission's upstream outcome (<see cref="Upstream.UpstreamOutcome"/> in snake_case).</summary>
    public void RunSubmitted(string appId, string outcome) =>
        _runsSubmitted.Add(1, new TagList { { "app_id", appId }, { "outcome", outcome } });

    public void RunCompleted(string appId) => _runsCompleted.Add(1, new TagList { { "app_id", appId } });

    public void RunFailed(string appId, string errorCode) =>
        _runsFailed.Add(1, new TagList { { "app_id", appId }, { "error_code", errorCode } });

    /// <summary>
    /// One upstream call as the caller of the Refit client saw it; <paramref name="statusCode"/> null when no answer
    /// came, <paramref name="reason"/> why it was not ok (<c>circuit_open</c>, <c>timeout</c>, <c>unreachable</c>, …).
    /// </summary>
    public void UpstreamCall(string route, int? statusCode, string outcome, string? reason, TimeSpan duration)
    {
        var tags = new TagList
        {
            { "route", route },
            { "status", statusCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "none" },
            { "outcome", outcome },
            { "reason", reason ?? "none" },
        };
        _upstreamCalls.Add(1, tags);
        _upstreamDuration.Record(duration.TotalSeconds, new TagList { { "route", route }, { "outcome", outcome } });
    }

    public void TrackerLag(TimeSpan lag) => _trackerLag.Record(Math.Max(0, lag.TotalSeconds));

    public void CacheServedRead(string route) => _cacheServedReads.Add(1, new TagList { { "route", route } });

    public void RehostBytes(long bytes) => _rehostBytes.Add(bytes);

    public void RehostFailed(string reason) => _rehostFailures.Add(1, new TagList { { "reason", reason } });

    /// <summary>Call on open; dispose the result when the stream ends, however it ends.</summary>
    public IDisposable SseSubscribed()
    {
        _sseSubscribers.Add(1);
        return new Unsubscribe(_sseSubscribers);
    }

    public void RateLimitRejected(string policy) => _rateLimitRejections.Add(1, new TagList { { "policy", policy } });

    private sealed class Unsubscribe(UpDownCounter<long> counter) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                counter.Add(-1);
            }
        }
    }
}
