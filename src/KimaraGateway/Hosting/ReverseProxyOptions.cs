using System.Net;

namespace KimaraGateway.Hosting;

/// <summary>
/// The <c>ReverseProxy</c> configuration section: which proxies may speak for the client (<c>X-Forwarded-*</c>) and
/// the path prefix the gateway is published under.
/// </summary>
public sealed class ReverseProxyOptions
{
    public const string SectionName = "ReverseProxy";

    /// <summary>
    /// Addresses of proxies whose <c>X-Forwarded-For/-Proto/-Host/-Prefix</c> headers are believed, e.g. <c>10.0.0.5</c>.
    /// Empty (the default) together with <see cref="KnownIPNetworks"/>: forwarded headers are ignored from everyone.
    /// </summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks (CIDR) of trusted proxies, e.g. <c>172.16.0.0/12</c> for a container network.</summary>
    public List<string> KnownIPNetworks { get; set; } = [];

    /// <summary>
    /// A fixed prefix the proxy forwards unchanged (e.g. <c>/kimara</c>), for proxies that cannot send
    /// <c>X-Forwarded-Prefix</c>. Unset: the gateway is at the root, or the proxy strips the prefix and names it in
    /// <c>X-Forwarded-Prefix</c>.
    /// </summary>
    public string? PathBase { get; set; }

    internal static bool IsValidProxy(string value) => IPAddress.TryParse(value, out _);

    internal static bool IsValidNetwork(string value) => IPNetwork.TryParse(value, out _);

    internal static bool IsValidPathBase(string? value) =>
        string.IsNullOrEmpty(value) || (value.StartsWith('/') && !value.EndsWith('/') && Uri.IsWellFormedUriString(value, UriKind.Relative));
}
