using System.Globalization;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KimaraGateway.Hosting;

/// <summary>What recent upstream calls said about Kimara, so readiness needs no call of its own while traffic flows.</summary>
public sealed class KimaraReachability(TimeProvider time)
{
    private long _lastAnsweredTicks;
    private long _lastFailedTicks;
    private long _circuitOpenUntilTicks;

    public DateTimeOffset? LastAnsweredAt => FromTicks(Interlocked.Read(ref _lastAnsweredTicks));

    public DateTimeOffset? LastFailedAt => FromTicks(Interlocked.Read(ref _lastFailedTicks));

    /// <summary>While in the future, the circuit breaker answers upstream calls itself, without asking Kimara.</summary>
    public DateTimeOffset? CircuitOpenUntil => FromTicks(Interlocked.Read(ref _circuitOpenUntilTicks));

    public void Observe(UpstreamResult result)
    {
        var now = time.GetUtcNow();
        if (result.Reason == KimaraClient.CircuitOpenReason)
        {
            Interlocked.Exchange(ref _circuitOpenUntilTicks, (now + (result.RetryAfter ?? TimeSpan.Zero)).UtcTicks);
            return;
        }

        // Kimara answering 404, 429 or a 4xx is Kimara up; 5xx, timeouts and lost connections are not.
        if (result.Outcome is UpstreamOutcome.Ok or UpstreamOutcome.NotFound or UpstreamOutcome.RateLimited or UpstreamOutcome.Rejected)
        {
            Interlocked.Exchange(ref _lastAnsweredTicks, now.UtcTicks);
        }
        else
        {
            Interlocked.Exchange(ref _lastFailedTicks, now.UtcTicks);
        }
    }

    private static DateTimeOffset? FromTicks(long ticks) => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}

/// <summary>
/// Kimara is ready when its circuit is closed and it answered recently, or, with no recent answer, when it answers a
/// plain GET of its base URL (no key sent) within the check timeout. Any HTTP status counts as reachable.
/// </summary>
internal sealed class KimaraHealthCheck(KimaraEndpoint endpoint, KimaraReachability reachability, IHttpClientFactory clients, TimeProvider time)
    : IHealthCheck
{
    public const string HttpClientName = "kimara-health";

    /// <summary>An answer this recent stands in for a probe.</summary>
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(30);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration.FailureStatus;
        if (!endpoint.IsResolved)
        {
            return new HealthCheckResult(failure, "The Kimara endpoint is not resolved yet (starting).");
        }

        var now = time.GetUtcNow();
        if (reachability.CircuitOpenUntil is { } openUntil && openUntil > now)
        {
            return new HealthCheckResult(failure, "The Kimara circuit is open: submissions fail fast with 503 until it closes.", data: new Dictionary<string, object>
            {
                ["circuit"] = "open",
                ["open_until"] = openUntil.ToString("O", CultureInfo.InvariantCulture),
            });
        }

        if (reachability.LastAnsweredAt is { } answered && now - answered < Fresh && !(reachability.LastFailedAt > answered))
        {
            return HealthCheckResult.Healthy("Kimara answered recent calls.", new Dictionary<string, object>
            {
                ["circuit"] = "closed",
                ["last_answer_age_s"] = Math.Round((now - answered).TotalSeconds, 1).ToString(CultureInfo.InvariantCulture),
            });
        }

        try
        {
            using var response = await clients.CreateClient(HttpClientName).GetAsync(endpoint.BaseUrl, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return HealthCheckResult.Healthy("Kimara is reachable.", new Dictionary<string, object>
            {
                ["circuit"] = "closed",
                ["probe_status"] = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
            });
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return new HealthCheckResult(failure, $"Kimara did not answer within {Health.CheckTimeout.TotalSeconds:0} s ({ex.GetType().Name}).",
                data: new Dictionary<string, object> { ["circuit"] = "closed" });
        }
    }
}
