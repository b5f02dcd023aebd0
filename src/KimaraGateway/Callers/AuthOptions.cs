namespace KimaraGateway.Callers;

/// <summary>The <c>Auth</c> configuration section: who may call the gateway.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Gateway API keys for scripts and CI, stored as SHA-256 hashes.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];
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
}
