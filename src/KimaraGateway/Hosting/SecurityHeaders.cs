using KimaraGateway.Frontend;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Hosting;

/// <summary>
/// Security headers on every response, errors included. The API serves JSON, events and images, never pages, so its
/// Content-Security-Policy forbids everything; Swagger UI and the reference client each get the policy their own scripts
/// and styles need.
/// </summary>
public static class SecurityHeaders
{
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    // Swagger UI's scripts and styles are served from /swagger itself; React sets inline style attributes, and the UI
    // draws its icons from data: URIs. It fetches the document and sends "Try it out" requests to this origin only.
    public const string SwaggerUiPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    // The reference client (/app/) loads its own script and stylesheet, calls the API on this origin, shows outputs
    // through same-origin signed links and previews a chosen upload through a blob: URL. No inline code, no forms posted.
    public const string FrontendPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public static WebApplication UseGatewaySecurity(this WebApplication app)
    {
        // First, so that even a redirect to HTTPS carries the headers.
        app.Use((context, next) =>
        {
            var path = context.Request.Path;
            var policy = path.StartsWithSegments(OpenApiExtensions.RoutePrefixPath) ? SwaggerUiPolicy
                : path.StartsWithSegments(FrontendExtensions.RequestPath) ? FrontendPolicy
                : ApiPolicy;
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers.ContentSecurityPolicy = policy;
                return Task.CompletedTask;
            });
            return next(context);
        });

        var security = app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (security.HttpsRedirection)
        {
            app.UseHttpsRedirection();
        }

        if (security.Hsts)
        {
            app.UseHsts();
        }

        return app;
    }

    public static WebApplicationBuilder AddGatewaySecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<Microsoft.AspNetCore.HttpsPolicy.HttpsRedirectionOptions>()
            .Configure<IOptions<SecurityOptions>>((https, security) =>
            {
                if (security.Value.HttpsPort is { } port)
                {
                    https.HttpsPort = port;
                }
            });
        builder.Services.AddOptions<Microsoft.AspNetCore.HttpsPolicy.HstsOptions>()
            .Configure<IOptions<SecurityOptions>>((hsts, security) =>
            {
                hsts.MaxAge = security.Value.HstsMaxAge;
            });
        return builder;
    }
}
