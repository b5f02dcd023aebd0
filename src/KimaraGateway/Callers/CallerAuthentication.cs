using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace KimaraGateway.Callers;

/// <summary>
/// The caller schemes: the API-key handler is the default and forwards JWT-shaped bearer tokens to JWT bearer. Both arrive
/// as <c>Authorization: Bearer</c>; a JWT is three base64url parts joined by two dots, which a gateway API key never has.
/// (A policy scheme in front of both would cost every API-key request a second handler and a forward.)
/// </summary>
public static class CallerAuthentication
{
    public const string JwtSchemeName = "Jwt";

    public static void AddCallerAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, "Gateway API key or company JWT", o => o.ForwardDefaultSelector = SelectScheme)
            .AddJwtBearer(JwtSchemeName);

        services.AddOptions<JwtBearerOptions>(JwtSchemeName).Configure<IOptions<AuthOptions>>((jwt, auth) => Configure(jwt, auth.Value.Jwt));
    }

    /// <summary>JWT bearer for a JWT-shaped bearer token when JWTs are enabled; null (the API-key handler itself) otherwise.</summary>
    private static string? SelectScheme(HttpContext context)
    {
        if (context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName))
        {
            return null;
        }

        var jwtEnabled = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.Jwt.Enabled;
        return jwtEnabled && ApiKeyAuthenticationHandler.ReadKey(context.Request) is { } token && LooksLikeJwt(token)
            ? JwtSchemeName
            : null;
    }

    internal static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    private static void Configure(JwtBearerOptions jwt, JwtOptions options)
    {
        // Claims keep their JWT names (sub, roles), so the configured claim names mean what they say.
        jwt.MapInboundClaims = false;
        jwt.Authority = Blank(options.Authority);
        jwt.MetadataAddress = Blank(options.MetadataAddress) ?? "";
        jwt.RequireHttpsMetadata = options.RequireHttpsMetadata;
        jwt.Audience = options.Audience;
        jwt.TokenValidationParameters.ValidAudience = options.Audience;
        jwt.TokenValidationParameters.ValidateAudience = true;
        jwt.TokenValidationParameters.ValidateLifetime = true;
        jwt.TokenValidationParameters.RequireExpirationTime = true;
        jwt.TokenValidationParameters.RequireSignedTokens = true;
        jwt.TokenValidationParameters.ClockSkew = options.ClockSkew;
        jwt.TokenValidationParameters.NameClaimType = options.CallerIdClaim;
        jwt.TokenValidationParameters.RoleClaimType = options.RoleClaim;

        if (Blank(options.SigningKey) is { } signingKey)
        {
            var (key, algorithms) = SigningKeyOf(signingKey);
            jwt.TokenValidationParameters.IssuerSigningKey = key;
            // Pinning the algorithms to the key's kind closes algorithm-confusion attacks (an RSA public key used as an HMAC secret).
            jwt.TokenValidationParameters.ValidAlgorithms = algorithms;
            jwt.TokenValidationParameters.ValidateIssuerSigningKey = true;
            jwt.TokenValidationParameters.ValidIssuer = Blank(options.Issuer);
            jwt.TokenValidationParameters.ValidateIssuer = Blank(options.Issuer) is not null;
        }

        jwt.Events = new JwtBearerEvents { OnTokenValidated = context => ToCaller(context, options) };
    }

    /// <summary>Replaces the token's principal with the gateway's caller shape: caller id, roles, scheme.</summary>
    private static Task ToCaller(TokenValidatedContext context, JwtOptions options)
    {
        var token = context.Principal!;
        var callerId = token.FindFirstValue(options.CallerIdClaim);
        if (string.IsNullOrWhiteSpace(callerId))
        {
            context.Fail($"The token has no '{options.CallerIdClaim}' claim (Auth:Jwt:CallerIdClaim).");
            return Task.CompletedTask;
        }

        var claims = new List<Claim> { new(CallerClaims.CallerId, callerId), new(CallerClaims.Scheme, JwtSchemeName) };
        claims.AddRange(token.FindAll(options.RoleClaim).Select(r => new Claim(ClaimTypes.Role, r.Value)));
        context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, JwtSchemeName, CallerClaims.CallerId, ClaimTypes.Role));
        return Task.CompletedTask;
    }

    internal static (SecurityKey Key, string[] Algorithms) SigningKeyOf(string configured)
    {
        if (!configured.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            return (new SymmetricSecurityKey(Encoding.UTF8.GetBytes(configured)),
                [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512]);
        }

        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(configured);
            return (new RsaSecurityKey(rsa),
                [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
                 SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512]);
        }
        catch (ArgumentException)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(configured);
            return (new ECDsaSecurityKey(ec), [SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512]);
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
