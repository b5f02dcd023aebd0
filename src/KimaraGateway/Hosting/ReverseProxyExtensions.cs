using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Hosting;

/// <summary>
/// Running behind a reverse proxy: the client's address, scheme, host and path prefix come from <c>X-Forwarded-*</c>,
/// but only when the connection comes from a configured proxy, so a caller cannot spoof its address or the links it gets.
/// </summary>
public static class ReverseProxyExtensions
{
    public static WebApplicationBuilder AddGatewayReverseProxy(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReverseProxyOptions>()
            .BindConfiguration(ReverseProxyOptions.SectionName)
            .Validate(o => o.KnownProxies.All(ReverseProxyOptions.IsValidProxy),
                "ReverseProxy:KnownProxies must hold IP addresses, e.g. 10.0.0.5.")
            .Validate(o => o.KnownIPNetworks.All(ReverseProxyOptions.IsValidNetwork),
                "ReverseProxy:KnownIPNetworks must hold CIDR networks, e.g. 172.16.0.0/12.")
            .Validate(o => ReverseProxyOptions.IsValidPathBase(o.PathBase),
                "ReverseProxy:PathBase must start with '/' and not end with one, e.g. /kimara.")
            .ValidateOnStart();

        builder.Services.AddOptions<ForwardedHeadersOptions>()
            .Configure<IOptions<ReverseProxyOptions>>((forwarded, proxy) =>
            {
                forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto
                    | ForwardedHeaders.XForwardedHost | ForwardedHeaders.XForwardedPrefix;
                // The framework trusts loopback by default; a sidecar or a local curl would then be believed too.
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                foreach (var address in proxy.Value.KnownProxies.Where(ReverseProxyOptions.IsValidProxy))
                {
                    forwarded.KnownProxies.Add(IPAddress.Parse(address));
                }

                foreach (var network in proxy.Value.KnownIPNetworks.Where(ReverseProxyOptions.IsValidNetwork))
                {
                    forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
                }

                // Walk back through X-Forwarded-For while each hop is a trusted proxy (a load balancer in front of nginx),
                // and stop at the first address that is not: that is the client.
                forwarded.ForwardLimit = null;
            });
        return builder;
    }

    /// <summary>Must run first, so everything after it (logs, rate limits, links) sees the outside view of the request.</summary>
    public static WebApplication UseGatewayReverseProxy(this WebApplication app)
    {
        app.UseForwardedHeaders();
        if (app.Services.GetRequiredService<IOptions<ReverseProxyOptions>>().Value.PathBase is { Length: > 0 } pathBase)
        {
            app.UsePathBase(pathBase);
        }

        return app;
    }
}
