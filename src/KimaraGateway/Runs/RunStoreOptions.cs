using System.ComponentModel.DataAnnotations;

namespace KimaraGateway.Runs;

/// <summary>The <c>Runs</c> configuration section.</summary>
public sealed class RunStoreOptions
{
    public const string SectionName = "Runs";

    /// <summary>Prefix of every Redis key the gateway writes. Wrap it in braces (<c>{kgw}:</c>) on a Redis cluster.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9:{}_\-.]{1,64}$")]
    public string KeyPrefix { get; set; } = "kgw:";

    /// <summary>How long a completed or failed run is kept.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}
