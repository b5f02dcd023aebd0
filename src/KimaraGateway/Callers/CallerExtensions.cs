using Microsoft.AspNetCore.Authentication;

namespace KimaraGateway.Callers;

public static class CallerExtensions
{
    public const string CallerPolicy = "caller";

    /// <summary>Registers caller authentication (gateway API keys) and the policy every run route requires.</summary>
    public static WebApplicationBuilder AddCallers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName)
            .Validate(o => o.ApiKeys.All(k => !string.IsNullOrWhiteSpace(k.CallerId)), "Auth:ApiKeys:*:CallerId is required for every key.")
            .Validate(o => o.ApiKeys.All(k => ApiKeyAuthenticationHandler.TryParseHash(k.KeyHash, out _)),
                "Auth:ApiKeys:*:KeyHash must be the 64-character hex SHA-256 of the key (see README, 'Minting an API key').")
            .Validate(o => o.ApiKeys.Select(k => k.KeyHash.ToUpperInvariant()).Distinct().Count() == o.ApiKeys.Count, "Auth:ApiKeys has the same KeyHash twice.")
            .ValidateOnStart();

        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(CallerPolicy, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser()
                .RequireClaim(CallerClaims.CallerId));
        return builder;
    }
}
