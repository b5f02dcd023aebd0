using KimaraGateway.Callers;
using Microsoft.OpenApi;

namespace KimaraGateway.Hosting;

public static class OpenApiExtensions
{
    public const string DocumentName = "v1";

    public static WebApplicationBuilder AddGatewayOpenApi(this WebApplicationBuilder builder)
    {
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

    public static WebApplication UseGatewayOpenApi(this WebApplication app)
    {
        app.UseSwagger();
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
