using System.Globalization;
using System.Text.Json;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KimaraGateway.Hosting;

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (every check tagged <see cref="ReadyTag"/>), both
/// unauthenticated, with JSON detail. A feature adds its own readiness check with
/// <c>builder.Services.AddHealthChecks().AddCheck&lt;T&gt;("name", tags: [Health.ReadyTag])</c>.
/// </summary>
public static class Health
{
    public const string ReadyTag = "ready";
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>How long one dependency may take to answer a readiness check before it counts as down.</summary>
    internal static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    public static WebApplicationBuilder AddGatewayHealth(this WebApplicationBuilder builder)
    {
        var checks = builder.Services.AddHealthChecks();
        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(RunsExtensions.RedisConnectionName)))
        {
            checks.AddCheck<RedisHealthCheck>("redis", tags: [ReadyTag], timeout: CheckTimeout);
        }

        // Degraded, not Unhealthy: with Kimara down a replica still serves stored runs and answers submissions with a
        // clear 503, which beats the proxy taking every replica out and callers getting bare 502s.
        checks.AddCheck<KimaraHealthCheck>("kimara", failureStatus: HealthStatus.Degraded, tags: [ReadyTag], timeout: CheckTimeout * 2);
        builder.Services.AddSingleton<KimaraReachability>();
        builder.Services.AddHttpClient(KimaraHealthCheck.HttpClientName, c => c.Timeout = CheckTimeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }

    public static WebApplication MapGatewayHealth(this WebApplication app)
    {
        // Liveness runs no check: a process that can answer is alive; dependencies belong to readiness.
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJsonAsync })
            .WithName("HealthLive")
            .AllowAnonymous()
            .DisableRateLimiting();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteJsonAsync })
            .WithName("HealthReady")
            .AllowAnonymous()
            .DisableRateLimiting();
        return app;
    }

    internal static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments(ObservabilityExtensions.MetricsPath);

    /// <summary>
    /// <c>{"status":"healthy","duration_ms":1.2,"checks":{"redis":{"status":"healthy","description":"…","duration_ms":0.8,"data":{…}}}}</c>.
    /// Exception messages are left out: they can carry connection details; the check's description says what failed.
    /// </summary>
    internal static async Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", StatusName(report.Status));
        json.WriteNumber("duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", StatusName(entry.Status));
            if (entry.Description is { } description)
            {
                json.WriteString("description", description);
            }

            if (entry.Exception is { } exception)
            {
                json.WriteString("error", exception.GetType().Name);
            }

            json.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 1));
            if (entry.Data.Count > 0)
            {
                json.WriteStartObject("data");
                foreach (var (key, value) in entry.Data)
                {
                    json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private static string StatusName(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}
