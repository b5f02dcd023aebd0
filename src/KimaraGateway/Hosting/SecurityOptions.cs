using System.ComponentModel.DataAnnotations;

namespace KimaraGateway.Hosting;

/// <summary>
/// The <c>Security</c> configuration section: TLS enforcement for deployments where no TLS-terminating proxy sits in
/// front. Behind a proxy that terminates TLS (the usual case) leave both off and let the proxy redirect and send HSTS.
/// </summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Security";

    /// <summary>Redirect plain-HTTP requests to HTTPS (307/308). Default off.</summary>
    public bool HttpsRedirection { get; set; }

    /// <summary>The HTTPS port to redirect to when it cannot be discovered from the server's bindings.</summary>
    [Range(1, 65535)]
    public int? HttpsPort { get; set; }

    /// <summary>Send <c>Strict-Transport-Security</c> on HTTPS responses. Default off.</summary>
    public bool Hsts { get; set; }

    /// <summary>HSTS <c>max-age</c>.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "730.00:00:00")]
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);
}
