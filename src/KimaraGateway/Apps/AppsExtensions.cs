using Microsoft.Extensions.Options;

namespace KimaraGateway.Apps;

public static class AppsExtensions
{
    /// <summary>Registers the App catalogue (checked at start, reloaded on change), submission validation and per-App Swagger operations.</summary>
    public static WebApplicationBuilder AddApps(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AppsOptions>().BindConfiguration(AppsOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AppsOptions>, AppsOptionsValidator>();
        builder.Services.AddSingleton<AppCatalogue>();
        builder.Services.AddSingleton<AppSubmissions>();
        builder.Services.AddSingleton<IStartupFilter, RequestBodyLimit>();
        builder.Services.ConfigureSwaggerGen(options => options.DocumentFilter<AppRunsDocumentFilter>());
        return builder;
    }
}
