using KimaraGateway.Callers;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace KimaraGateway.Hosting;

public static class OpenApiExtensions
{
    public const string DocumentName = "v1";
    public const string RoutePrefixPath = "/swagger";

    public static WebApplicationBuilder AddGatewayOpenApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SwaggerUiOptions>().BindConfiguration(SwaggerUiOptions.SectionName).ValidateOnStart();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "Kimara Gateway",
                Version = "v1",
                Description = "Run Kimara Apps through the company gateway: same requests as Kimara's API (POST /runs, then GET /runs/{id}), "
                    + "with a gateway credential instead of the Kimara key. Authorize with a company JWT or a gateway API key (Bearer), or an API key in X-Api-Key.",
            });
            options.AddSecurityDefinition("Bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A company JWT (where Auth:Jwt is configured) or a gateway API key: Authorization: Bearer <token or key>. A JWT is told from a key by its two dots.",
            });
            options.AddSecurityDefinition(ApiKeyAuthenticationHandler.SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "A gateway API key in the X-Api-Key header.",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference("Bearer", document)] = [],
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [],
            });
            options.SupportNonNullableReferenceTypes();
            options.IncludeXmlComments(Path.Combine(AppContext.BaseDirectory, "KimaraGateway.xml"));
        });
        return builder;
    }

    /// <summary>Whether the document and Swagger UI are served: <c>Swagger:Enabled</c>, else everywhere but Production.</summary>
    public static bool IsSwaggerEnabled(this WebApplication app) =>
        app.Services.GetRequiredService<IOptions<SwaggerUiOptions>>().Value.Enabled ?? !app.Environment.IsProduction();

    public static WebApplication UseGatewayOpenApi(this WebApplication app)
    {
        if (!app.IsSwaggerEnabled())
        {
            return app;
        }

        app.UseSwagger(options => options.PreSerializeFilters.Add((document, request) =>
            // The outside view of this request (after forwarded headers and path base), so "Try it out" goes through the
            // same proxy and prefix the browser used, never to the gateway's internal address.
            document.Servers = [new OpenApiServer { Url = $"{request.Scheme}://{request.Host}{request.PathBase}" }]));
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint($"{DocumentName}/swagger.json", "Kimara Gateway v1");
            options.DocumentTitle = "Kimara Gateway";
            options.EnableTryItOutByDefault();
            options.EnablePersistAuthorization();
        });
        return app;
    }
}
