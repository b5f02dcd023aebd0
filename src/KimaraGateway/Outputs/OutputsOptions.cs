using System.Net;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>How outputs reach callers: copied into the gateway's store before the run completes, or streamed from Kimara.</summary>
public enum OutputMode
{
    Rehost,
    Proxy,
}

/// <summary>Where re-hosted outputs live.</summary>
public enum OutputStoreKind
{
    FileSystem,
    S3,
}

/// <summary>The <c>Outputs</c> configuration section.</summary>
public sealed class OutputsOptions
{
    public const string SectionName = "Outputs";

    /// <summary>Media types accepted when <see cref="AllowedContentTypes"/> is empty. No SVG: served from the gateway's origin it could run script.</summary>
    public static readonly IReadOnlyList<string> DefaultContentTypes =
        ["image/png", "image/jpeg", "image/webp", "image/gif", "image/avif", "video/mp4", "video/webm"];

    public OutputMode Mode { get; set; } = OutputMode.Rehost;

    public OutputStoreKind Store { get; set; } = OutputStoreKind.FileSystem;

    /// <summary>Hosts output URLs may be fetched from: exact names or IP literals, or <c>*.example.com</c> for subdomains.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Hosts of <see cref="AllowedHosts"/> that may also be fetched over plain http (everything else is https only).</summary>
    public List<string> InsecureHttpHosts { get; set; } = [];

    /// <summary>
    /// CIDR ranges the fetcher may connect to although they are loopback, private, link-local or otherwise internal
    /// (e.g. <c>127.0.0.1/32</c> for a simulator on this machine). Public addresses need no entry.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Media types an output may have; empty means <see cref="DefaultContentTypes"/>.</summary>
    public List<string> AllowedContentTypes { get; set; } = [];

    /// <summary>Largest output accepted, in bytes.</summary>
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Time one fetch may take, headers and body; a slower (dripping) upstream is cut off and the run fails.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Redirects followed per fetch, each checked against the allow-list like the first URL.</summary>
    public int MaxRedirects { get; set; } = 3;

    /// <summary>How long after Kimara completed a run transient fetch failures (resets, 5xx) are retried before the run fails.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often stored outputs whose run has expired are looked for and deleted.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromHours(1);

    public FileSystemStoreOptions FileSystem { get; set; } = new();

    public S3StoreOptions S3 { get; set; } = new();

    public OutputLinkOptions Links { get; set; } = new();

    public IReadOnlyList<string> EffectiveContentTypes => AllowedContentTypes.Count > 0 ? AllowedContentTypes : DefaultContentTypes;
}

/// <summary><c>Outputs:FileSystem</c>: a folder, possibly a volume shared by several gateway processes.</summary>
public sealed class FileSystemStoreOptions
{
    /// <summary>Root folder; relative paths are taken from the content root.</summary>
    public string Root { get; set; } = ".data/outputs";
}

/// <summary><c>Outputs:S3</c>: an S3-compatible bucket.</summary>
public sealed class S3StoreOptions
{
    /// <summary>Endpoint of an S3-compatible service (e.g. <c>http://127.0.0.1:9000</c>); unset means AWS itself in <see cref="Region"/>.</summary>
    public Uri? ServiceUrl { get; set; }

    public string? Bucket { get; set; }

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    public string Region { get; set; } = "us-east-1";

    /// <summary>Path-style addressing (<c>host/bucket/key</c>), which most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Prefix of every object key the gateway writes.</summary>
    public string KeyPrefix { get; set; } = "outputs/";

    /// <summary>Local folder where a download is spooled before it is uploaded; unset means the system temp folder.</summary>
    public string? SpoolDirectory { get; set; }
}

/// <summary><c>Outputs:Links</c>: the signed, expiring <c>output_url</c> links that need no header.</summary>
public sealed class OutputLinkOptions
{
    /// <summary>HMAC key (at least 32 characters). Required outside Development; every replica must share it.</summary>
    public string? SigningKey { get; set; }

    /// <summary>How long a link handed out with a run stays valid.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Keys rotated out, still accepted (never used to sign) until their <see cref="PreviousLinkKey.AcceptUntil"/>.</summary>
    public List<PreviousLinkKey> PreviousKeys { get; set; } = [];
}

public sealed class PreviousLinkKey
{
    public string? Key { get; set; }

    public DateTimeOffset AcceptUntil { get; set; }
}

/// <summary>Checks <see cref="OutputsOptions"/> at startup, naming the key that is wrong.</summary>
internal sealed class OutputsOptionsValidator(IHostEnvironment environment) : IValidateOptions<OutputsOptions>
{
    internal const int MinKeyLength = 32;

    public ValidateOptionsResult Validate(string? name, OutputsOptions options)
    {
        var errors = new List<string>();
        if (options.MaxBytes < 1)
        {
            errors.Add("Outputs:MaxBytes must be at least 1.");
        }

        if (options.FetchTimeout <= TimeSpan.Zero || options.FetchTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("Outputs:FetchTimeout must be between 00:00:00 (exclusive) and 01:00:00.");
        }

        if (options.MaxRedirects is < 0 or > 10)
        {
            errors.Add("Outputs:MaxRedirects must be between 0 and 10.");
        }

        if (options.GiveUpAfter <= TimeSpan.Zero)
        {
            errors.Add("Outputs:GiveUpAfter must be positive.");
        }

        if (options.RetentionSweepInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("Outputs:RetentionSweepInterval must be at least 00:00:01.");
        }

        foreach (var network in options.AllowedNetworks.Where(n => !string.IsNullOrWhiteSpace(n)))
        {
            if (!IPNetwork.TryParse(network.Trim(), out _))
            {
                errors.Add($"Outputs:AllowedNetworks entry '{network}' is not a CIDR range such as 127.0.0.1/32.");
            }
        }

        foreach (var host in options.InsecureHttpHosts.Where(h => !string.IsNullOrWhiteSpace(h)))
        {
            if (!OutputFetchPolicy.MatchesAny(options.AllowedHosts, host.Trim()))
            {
                errors.Add($"Outputs:InsecureHttpHosts entry '{host}' is not in Outputs:AllowedHosts.");
            }
        }

        if (options.Store == OutputStoreKind.FileSystem && string.IsNullOrWhiteSpace(options.FileSystem.Root))
        {
            errors.Add("Outputs:FileSystem:Root is required for the FileSystem store.");
        }

        if (options.Store == OutputStoreKind.S3)
        {
            if (string.IsNullOrWhiteSpace(options.S3.Bucket))
            {
                errors.Add("Outputs:S3:Bucket is required when Outputs:Store is S3.");
            }

            if (string.IsNullOrWhiteSpace(options.S3.AccessKey) != string.IsNullOrWhiteSpace(options.S3.SecretKey))
            {
                errors.Add("Outputs:S3:AccessKey and Outputs:S3:SecretKey must be set together.");
            }

            if (options.S3.ServiceUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
            {
                errors.Add("Outputs:S3:ServiceUrl must be an absolute http(s) URL.");
            }
        }

        var links = options.Links;
        if (links.SigningKey is null && !environment.IsDevelopment())
        {
            errors.Add("Outputs:Links:SigningKey is required outside Development (environment variable Outputs__Links__SigningKey), shared by every replica.");
        }
        else if (links.SigningKey is { Length: < MinKeyLength })
        {
            errors.Add($"Outputs:Links:SigningKey must be at least {MinKeyLength} characters.");
        }

        if (links.Lifetime < TimeSpan.FromSeconds(1) || links.Lifetime > TimeSpan.FromDays(7))
        {
            errors.Add("Outputs:Links:Lifetime must be between 00:00:01 and 7.00:00:00.");
        }

        for (var i = 0; i < links.PreviousKeys.Count; i++)
        {
            if (links.PreviousKeys[i].Key is not { Length: >= MinKeyLength })
            {
                errors.Add($"Outputs:Links:PreviousKeys:{i}:Key must be at least {MinKeyLength} characters.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
