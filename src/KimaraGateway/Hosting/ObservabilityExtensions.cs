using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace KimaraGateway.Hosting;

/// <summary>
/// OpenTelemetry: metrics (the gateway's <see cref="GatewayMetrics"/>, ASP.NET Core, HttpClient and the resilience
/// pipeline) scraped at <c>/metrics</c> in Prometheus format; traces for ASP.NET Core and HttpClient, recorded and exported
/// over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured. Trace ids are in every log event either way.
/// </summary>
public static class ObservabilityExtensions
{
    public const string MetricsPath = "/metrics";
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ServiceNameKey = "OTEL_SERVICE_NAME";

    public static WebApplicationBuilder AddGatewayTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration[ServiceNameKey] ?? "kimara-gateway"))
            .WithMetrics(metrics =>
            {
                // Of ASP.NET Core's meters, the ones an operator reads (request duration, connections, unhandled
                // exceptions); each one more costs every request (routing, authentication, authorization, rate-limiter
                // lease meters). Rate-limit rejections are the gateway's own counter.
                metrics.AddMeter(GatewayMetrics.MeterName)
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics")
                    .AddHttpClientInstrumentation()
                    // Microsoft.Extensions.Http.Resilience reports retries, timeouts and circuit transitions on this meter.
                    .AddMeter("Polly")
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        // Traces are only worth recording when something collects them; trace ids reach the logs either way (ASP.NET Core
        // starts an activity per request for its own logging).
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !Health.IsOperational(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>Unauthenticated like health: scrape each replica directly, and keep it off the public proxy (deploy/nginx).</summary>
    public static WebApplication MapGatewayMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath)
            .WithName("Metrics")
            .AllowAnonymous()
            .DisableRateLimiting();
        return app;
    }
}
