using System.Net;
using System.Net.Sockets;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>Why a fetch was refused or failed; permanent ones fail the run, the others are retried at the next poll.</summary>
public sealed record FetchFailure(string Reason, string Detail, bool Permanent);

/// <summary>Stable reasons of <see cref="FetchFailure"/>, as logged.</summary>
public static class FetchReasons
{
    public const string RedirectRefused = "redirect_refused";
    public const string AddressRefused = "address_refused";
    public const string ConnectFailed = "connect_failed";
    public const string TooManyRedirects = "too_many_redirects";
    public const string Expired = "expired";
    public const string UpstreamError = "upstream_error";
    public const string UpstreamRefused = "upstream_refused";
    public const string ContentTypeRefused = "content_type_refused";
    public const string TooLarge = "too_large";
    public const string Timeout = "timeout";
    public const string MissingUrl = "missing_url";
    public const string Truncated = "truncated";
    public const string StoreFailed = "store_failed";
    public const string SchemeRefused = "scheme_refused";
    public const string UserinfoRefused = "userinfo_refused";
    public const string HostNotAllowed = "host_not_allowed";
    public const string HttpRefused = "http_refused";
    public const string UnexpectedStatus = "unexpected_status";
}

/// <summary>Thrown from the connect callback when a resolved address is not one the gateway may connect to.</summary>
public sealed class OutputAddressRefusedException(string message) : Exception(message);

/// <summary>
/// What the output fetcher may reach (OWASP API7 server-side request forgery): allowed hosts, https unless a host is allowed
/// over http, and, checked at connect time for every address a name resolves to, no loopback, private, link-local or
/// metadata address unless its network is explicitly allowed.
/// </summary>
public sealed class OutputFetchPolicy
{
    // Internal, reserved or special-purpose ranges (RFC 6890 and friends) a public CDN never lives in.
    private static readonly IPNetwork[] InternalNetworks =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("198.51.100.0/24"),
        IPNetwork.Parse("203.0.113.0/24"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("64:ff9b::/96"),
        IPNetwork.Parse("100::/64"),
        IPNetwork.Parse("2001:db8::/32"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fec0::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    private readonly OutputsOptions _options;
    private readonly IPNetwork[] _allowedNetworks;
    private readonly KimaraEndpoint _kimara;
    private readonly bool _trustSimulator;

    public OutputFetchPolicy(IOptions<OutputsOptions> options, IOptions<KimaraOptions> kimara, KimaraEndpoint endpoint, IHostEnvironment environment)
    {
        _options = options.Value;
        _allowedNetworks = [.. _options.AllowedNetworks.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => IPNetwork.Parse(n.Trim()))];
        _kimara = endpoint;
        // Zero-setup Development: the in-process simulator on loopback is the CDN.
        _trustSimulator = environment.IsDevelopment() && kimara.Value.BaseUrl is null;
    }

    /// <summary>Null when <paramref name="url"/> may be requested; otherwise why not.</summary>
    public FetchFailure? CheckUrl(Uri url)
    {
        if (!url.IsAbsoluteUri || url.Scheme is not ("https" or "http"))
        {
            return Refused(FetchReasons.SchemeRefused, "The output URL is not an http(s) URL.");
        }

        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return Refused(FetchReasons.UserinfoRefused, "The output URL carries credentials.");
        }

        var host = url.IdnHost;
        if (IsSimulator(host, url.Port))
        {
            return null;
        }

        if (!MatchesAny(_options.AllowedHosts, host))
        {
            return Refused(FetchReasons.HostNotAllowed, $"The output host '{host}' is not in Outputs:AllowedHosts.");
        }

        if (url.Scheme == "http" && !MatchesAny(_options.InsecureHttpHosts, host))
        {
            return Refused(FetchReasons.HttpRefused, $"The output host '{host}' is allowed over https only.");
        }

        return null;
    }

    /// <summary>Null when the fetcher may open a connection to <paramref name="address"/> for <paramref name="host"/>.</summary>
    public string? CheckAddress(string host, int port, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (!InternalNetworks.Any(n => n.Contains(address)))
        {
            return null;
        }

        if (_allowedNetworks.Any(n => n.Contains(address)) || (IPAddress.IsLoopback(address) && IsSimulator(host, port)))
        {
            return null;
        }

        return $"The output host '{host}' resolves to {address}, an internal address (loopback, private, link-local or metadata); refused.";
    }

    /// <summary>Resolves the host and connects to one of its addresses, once every one of them passed <see cref="CheckAddress"/>.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var port = context.DnsEndPoint.Port;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await resolve(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new OutputAddressRefusedException($"The output host '{host}' did not resolve.");
        }

        // Every address is checked, not just the first: a name that resolves to one public and one internal address is refused.
        foreach (var address in addresses)
        {
            if (CheckAddress(host, port, address) is { } refusal)
            {
                throw new OutputAddressRefusedException(refusal);
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool MatchesAny(IEnumerable<string> patterns, string host)
    {
        host = host.Trim('[', ']');
        foreach (var raw in patterns)
        {
            var pattern = raw.Trim().Trim('[', ']');
            if (pattern.Length == 0)
            {
                continue;
            }

            if (pattern.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase)
                : string.Equals(host, pattern, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private bool IsSimulator(string host, int port) =>
        _trustSimulator && _kimara.IsResolved
        && string.Equals(_kimara.BaseUrl.IdnHost.Trim('[', ']'), host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
        && _kimara.BaseUrl.Port == port;

    private static FetchFailure Refused(string reason, string detail) => new(reason, detail, Permanent: true);
}
