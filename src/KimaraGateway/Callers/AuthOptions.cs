namespace KimaraGateway.Callers;

/// <summary>The <c>Auth</c> configuration section: who may call the gateway, and how much.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Gateway API keys for scripts and CI, stored as SHA-256 hashes. None configured: the scheme accepts nothing.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer for the company's users; off unless an authority, a metadata address or a signing key is set.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Limits of every caller that a key's own <see cref="ApiKeyOptions.Limits"/> do not override.</summary>
    public CallerLimitOptions Limits { get; set; } = CallerLimitOptions.Defaults();
}

/// <summary>One gateway API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The caller this key authenticates; runs are private to it.</summary>
    public string CallerId { get; set; } = "";

    /// <summary>Lower-case hex SHA-256 of the key (see README: minting a key).</summary>
    public string KeyHash { get; set; } = "";

    /// <summary>A revoked key is refused like an unknown one.</summary>
    public bool Revoked { get; set; }

    /// <summary>App ids this key may run; empty = every App the catalogue allows it.</summary>
    public List<string> Apps { get; set; } = [];

    /// <summary>Roles, e.g. <c>admin</c>.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>This key's limits; each one left unset takes <c>Auth:Limits</c>.</summary>
    public CallerLimitOptions Limits { get; set; } = new();
}

/// <summary>
/// The <c>Auth:Jwt</c> section. Either an identity provider (<see cref="Authority"/> or <see cref="MetadataAddress"/>,
/// whose published keys are used) or an explicit <see cref="SigningKey"/> for environments without one.
/// </summary>
public sealed class JwtOptions
{
    /// <summary>The identity provider's issuer URL; its OpenID configuration supplies issuer and keys.</summary>
    public string? Authority { get; set; }

    /// <summary>The OpenID configuration document, when it is not at the authority's well-known address.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Whether the metadata must come over HTTPS (turn off only for a local identity provider).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The audience every token must carry (required when JWT is on).</summary>
    public string? Audience { get; set; }

    /// <summary>With <see cref="SigningKey"/>: the issuer tokens must carry; unset = any issuer.</summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// Instead of an identity provider: an HMAC secret (at least 32 bytes, for HS256/384/512) or a PEM public key
    /// (<c>-----BEGIN PUBLIC KEY-----</c>, RSA or EC).
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>The claim that holds the caller id.</summary>
    public string CallerIdClaim { get; set; } = "sub";

    /// <summary>The claim that holds the caller's roles (e.g. <c>admin</c>).</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>Tolerated clock difference between the identity provider and the gateway.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled =>
        !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(MetadataAddress) || !string.IsNullOrWhiteSpace(SigningKey);
}

/// <summary>A caller's limits. 0 = no limit; unset (in a key's own limits) = the default from <c>Auth:Limits</c>.</summary>
public sealed class CallerLimitOptions
{
    /// <summary>Submissions (<c>POST /runs</c>, replays included) per minute.</summary>
    public int? SubmissionsPerMinute { get; set; }

    /// <summary>Reads of runs (<c>GET /runs</c>, <c>/runs/{id}</c>, events) per second.</summary>
    public int? ReadsPerSecond { get; set; }

    /// <summary>Runs not yet completed or failed at any one time.</summary>
    public int? ConcurrentRuns { get; set; }

    /// <summary>Runs started per day (a 24-hour window from the first run in it).</summary>
    public int? RunsPerDay { get; set; }

    /// <summary>Runs per day per App id, on top of <see cref="RunsPerDay"/>.</summary>
    public Dictionary<string, int> RunsPerDayPerApp { get; set; } = new(StringComparer.Ordinal);

    public static CallerLimitOptions Defaults() => new()
    {
        SubmissionsPerMinute = 60,
        ReadsPerSecond = 20,
        ConcurrentRuns = 10,
        RunsPerDay = 1000,
    };
}
