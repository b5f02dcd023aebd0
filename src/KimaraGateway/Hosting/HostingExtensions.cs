using KimaraGateway.Callers;
using Serilog;
using Serilog.Events;

namespace KimaraGateway.Hosting;

public static class HostingExtensions
{
    /// <summary>Logging, JSON shape, problem details and the exception handler: what every feature relies on.</summary>
    public static WebApplicationBuilder AddGatewayHosting(this WebApplicationBuilder builder)
    {
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Console());

        builder.Services.AddSingleton<Serilog.Core.ILogEventEnricher, SecretRedactionEnricher>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        builder.Services.Configure<Microsoft.AspNetCore.Mvc.JsonOptions>(o => JsonDefaults.Configure(o.JsonSerializerOptions));
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.Customize);
        builder.Services.AddExceptionHandler<GatewayExceptionHandler>();
        builder.AddGatewayOpenApi();
        return builder;
    }

    public static WebApplication UseGatewayHosting(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging(options =>
        {
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
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
        app.UseCallers();
        return app;
    }
}
