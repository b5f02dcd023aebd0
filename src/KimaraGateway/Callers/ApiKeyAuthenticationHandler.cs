using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>
/// Authenticates gateway API keys sent as <c>Authorization: Bearer &lt;key&gt;</c> (so Kimara-style requests work
/// unchanged) or <c>X-Api-Key</c>. Keys are configured as SHA-256 hashes and compared in constant time.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptionsMonitor<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    private static KeyTable? s_keys;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey(Request);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        KnownKey? match = null;
        // Every configured key is compared, always in full, so timing says nothing about which one came close.
        foreach (var key in KnownKeys(auth.CurrentValue))
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                match = key;
            }
        }

        if (match is null || match.Options.Revoked)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown or revoked API key."));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(match.Claims, SchemeName, CallerClaims.CallerId, ClaimTypes.Role));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    /// <summary>The configured keys with their hashes parsed and claims built, once per configuration (it can reload).</summary>
    private static KnownKey[] KnownKeys(AuthOptions options)
    {
        var table = s_keys;
        if (!ReferenceEquals(table?.Source, options))
        {
            table = new KeyTable(options, [.. options.ApiKeys
                .Select(k => TryParseHash(k.KeyHash, out var hash) ? new KnownKey(hash, k, ClaimsOf(k)) : null)
                .OfType<KnownKey>()]);
            s_keys = table;
        }

        return table.Keys;
    }

    private static Claim[] ClaimsOf(ApiKeyOptions key) =>
    [
        new(CallerClaims.CallerId, key.CallerId),
        new(CallerClaims.Scheme, SchemeName),
        new(CallerClaims.KeyId, KeyIdOf(key.KeyHash)),
        .. key.Roles.Select(r => new Claim(ClaimTypes.Role, r)),
        .. key.Apps.Select(a => new Claim(CallerClaims.App, a)),
    ];

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"kimara-gateway\"";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, Problems.Unauthorized,
            "A valid gateway credential is required: Authorization: Bearer <key> or X-Api-Key.");
    }

    internal static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var apiKey) && apiKey.Count == 1 && !string.IsNullOrWhiteSpace(apiKey[0]))
        {
            return apiKey[0]!.Trim();
        }

        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }

    internal static bool TryParseHash(string hex, out byte[] bytes)
    {
        bytes = [];
        if (hex.Length != 64)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Names a key without revealing it (a prefix of its hash), so its own limits can be found.</summary>
    internal static string KeyIdOf(string keyHash) => keyHash[..16].ToLowerInvariant();

    /// <summary>The hash to configure for a key: lower-case hex SHA-256 of its UTF-8 bytes.</summary>
    public static string HashKey(string key) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLower(CultureInfo.InvariantCulture);

    private sealed record KnownKey(byte[] Hash, ApiKeyOptions Options, Claim[] Claims);

    private sealed record KeyTable(AuthOptions Source, KnownKey[] Keys);
}
