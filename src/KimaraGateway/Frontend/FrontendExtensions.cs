using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Frontend;

public static class FrontendExtensions
{
    public const string RequestPath = "/app";

    public static WebApplicationBuilder AddFrontend(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FrontendOptions>().BindConfiguration(FrontendOptions.SectionName).ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// Serves the reference client (plain files from <c>Frontend/wwwroot</c>, nothing from a CDN) at <c>/app/</c> when
    /// <c>Frontend:Enabled</c> is on, or unset in Development. It talks to the gateway only through the public API.
    /// </summary>
    public static WebApplication UseFrontend(this WebApplication app)
    {
        var enabled = app.Services.GetRequiredService<IOptions<FrontendOptions>>().Value.Enabled ?? app.Environment.IsDevelopment();
        if (!enabled)
        {
            return app;
        }

        var files = new PhysicalFileProvider(Path.Combine(app.Environment.ContentRootPath, "Frontend", "wwwroot"));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = RequestPath });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = RequestPath,
            // A new deployment must reach browsers at once; the files are small and revalidated by ETag.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
