using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>The <c>Cors</c> configuration section: the company frontends allowed to call the gateway from a browser.</summary>
public sealed class CallerCorsOptions
{
    public const string SectionName = "Cors";

    /// <summary>Exact origins (<c>https://app.example.com</c>); none = no cross-origin access at all.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>How long a browser may cache a preflight answer.</summary>
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}

public static class CallerCors
{
    /// <summary>What the frontend sends: credentials, JSON or multipart bodies, retries, SSE resumes and conditional polls.</summary>
    internal static readonly string[] AllowedHeaders =
        ["Authorization", ApiKeyAuthenticationHandler.HeaderName, "Content-Type", IdempotencyFilter.HeaderName, "Last-Event-ID", "If-None-Match", "Range"];

    /// <summary>What the frontend needs to read: where the run is, caching, when to retry and the limits.</summary>
    internal static readonly string[] ExposedHeaders =
        ["Location", "ETag", "Retry-After", "RateLimit", "RateLimit-Policy", IdempotencyFilter.ReplayedHeaderName, "Content-Range", "Accept-Ranges", "WWW-Authenticate"];

    public static void AddCallerCors(this IServiceCollection services)
    {
        services.AddOptions<CallerCorsOptions>().BindConfiguration(CallerCorsOptions.SectionName)
            .Validate(o => o.AllowedOrigins.All(IsOrigin),
                "Cors:AllowedOrigins must hold exact origins such as https://app.example.com (scheme, host and optional port; no path, no '*').")
            .Validate(o => o.PreflightMaxAge >= TimeSpan.Zero && o.PreflightMaxAge <= TimeSpan.FromDays(1), "Cors:PreflightMaxAge must be between 00:00:00 and 1.00:00:00.")
            .ValidateOnStart();
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<CallerCorsOptions>>((cors, callers) =>
        {
            if (callers.Value.AllowedOrigins.Count == 0)
            {
                return;
            }

            cors.AddDefaultPolicy(policy => policy
                .WithOrigins([.. callers.Value.AllowedOrigins.Select(o => o.TrimEnd('/'))])
                .AllowCredentials()
                .WithMethods("GET", "POST")
                .WithHeaders(AllowedHeaders)
                .WithExposedHeaders(ExposedHeaders)
                .SetPreflightMaxAge(callers.Value.PreflightMaxAge));
        });
    }

    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
        && string.IsNullOrEmpty(uri.UserInfo) && !origin.Contains('*', StringComparison.Ordinal);
}
