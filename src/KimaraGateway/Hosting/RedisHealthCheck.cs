using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace KimaraGateway.Hosting;

/// <summary>Ready when the run store's Redis answers a PING; registered only when <c>ConnectionStrings:Redis</c> is set.</summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!redis.IsConnected)
        {
            return HealthCheckResult.Unhealthy("Not connected to Redis; the run store is unavailable (reconnecting in the background).");
        }

        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(Health.CheckTimeout, cancellationToken);
            return HealthCheckResult.Healthy("Redis answered PING.", new Dictionary<string, object>
            {
                ["latency_ms"] = Math.Round(latency.TotalMilliseconds, 1).ToString(CultureInfo.InvariantCulture),
            });
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis did not answer PING ({ex.GetType().Name}).");
        }
    }
}
