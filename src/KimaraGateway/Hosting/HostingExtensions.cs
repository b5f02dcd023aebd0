using KimaraGateway.Callers;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace KimaraGateway.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// Logging, JSON shape, problem details, the exception handler, reverse-proxy awareness, security headers, health and
    /// telemetry: what every feature relies on.
    /// </summary>
    public static WebApplicationBuilder AddGatewayHosting(this WebApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
                .Enrich.FromLogContext();
            // One JSON object per line (CLEF, with trace and span ids) for log collectors; readable text for a developer.
            if (development)
            {
                logger.WriteTo.Console();
            }
            else
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
        }, preserveStaticLogger: true);
        CachingLoggerFactory.Decorate(builder.Services);

        builder.Services.AddSingleton<Serilog.Core.ILogEventEnricher, SecretRedactionEnricher>();
        // No "Server: Kestrel" on every response: it tells a caller nothing it needs.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        builder.Services.Configure<Microsoft.AspNetCore.Mvc.JsonOptions>(o => JsonDefaults.Configure(o.JsonSerializerOptions));
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.Customize);
        builder.Services.AddExceptionHandler<GatewayExceptionHandler>();
        builder.AddGatewayReverseProxy();
        builder.AddGatewaySecurity();
        builder.AddGatewayHealth();
        builder.AddGatewayTelemetry();
        builder.AddGatewayOpenApi();
        return builder;
    }

    public static WebApplication UseGatewayHosting(this WebApplication app)
    {
        app.UseGatewayReverseProxy();
        app.UseGatewaySecurity();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging(options =>
        {
            // This host's logger, not the static one: several hosts in one process (tests) must not share sinks.
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            // Probes and scrapes every few seconds would drown the request log.
            options.GetLevel = (http, _, exception) =>
                exception is not null || http.Response.StatusCode >= StatusCodes.Status500InternalServerError ? LogEventLevel.Error
                : Health.IsOperational(http.Request.Path) ? LogEventLevel.Verbose
                : LogEventLevel.Information;
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                // After the forwarded headers: the real client, not the proxy.
                diagnostics.Set("ClientIp", http.Connection.RemoteIpAddress?.ToString());
                if (http.User.FindFirst(Callers.CallerClaims.CallerId) is { } caller)
                {
                    diagnostics.Set("CallerId", caller.Value);
                }

                if (http.GetRouteValue("id") is string runId)
                {
                    diagnostics.Set("RunId", runId);
                }
            };
        });
        app.UseGatewayOpenApi();
        // Explicit, so routing sees the path after ReverseProxy:PathBase has been split off; CORS, authentication,
        // authorization and rate limits (UseCallers) then run on the matched endpoint.
        app.UseRouting();
        app.UseCallers();
        app.MapGatewayHealth();
        app.MapGatewayMetrics();
        return app;
    }
}
