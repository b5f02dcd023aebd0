using System.ComponentModel.DataAnnotations;

namespace KimaraGateway.Upstream;

/// <summary>The <c>Kimara</c> configuration section: where Kimara is and the key the gateway uses for it.</summary>
public sealed class KimaraOptions
{
    public const string SectionName = "Kimara";

    /// <summary>Kimara's API base URL. Unset in Development: the built-in simulator is started in-process.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The Kimara API key. Never leaves the server.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Timeout of one upstream attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one upstream call including retries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:10:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a tripped circuit stays open before Kimara is tried again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}
