using System.Net;
using KimaraGateway.Runs;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>Resolves output host names; replaceable so tests can point a name at any address.</summary>
public interface IOutputHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

internal sealed class DnsOutputHostResolver : IOutputHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);
}

public static class OutputsExtensions
{
    /// <summary>
    /// Registers output handling per <c>Outputs:Mode</c> (re-host into the <c>Outputs:Store</c>, or proxy), the guarded fetch
    /// client, signed links and retention.
    /// </summary>
    public static WebApplicationBuilder AddOutputs(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<OutputsOptions>, OutputsOptionsValidator>();
        builder.Services.AddOptions<OutputsOptions>().BindConfiguration(OutputsOptions.SectionName).ValidateOnStart();

        var section = builder.Configuration.GetSection(OutputsOptions.SectionName);
        if (section.GetValue(nameof(OutputsOptions.Store), OutputStoreKind.FileSystem) == OutputStoreKind.S3)
        {
            builder.Services.AddSingleton<IOutputStore, S3OutputStore>();
        }
        else
        {
            builder.Services.AddSingleton<IOutputStore, FileOutputStore>();
        }

        if (section.GetValue(nameof(OutputsOptions.Mode), OutputMode.Rehost) == OutputMode.Proxy)
        {
            builder.Services.AddSingleton<IRunCompletion, ProxyCompletion>();
        }
        else
        {
            builder.Services.AddSingleton<IRunCompletion, RehostCompletion>();
        }

        builder.Services.AddSingleton<OutputLinks>();
        builder.Services.AddSingleton<OutputServer>();
        builder.Services.AddSingleton<OutputFetchPolicy>();
        builder.Services.AddSingleton<OutputFetcher>();
        builder.Services.AddSingleton<IOutputHostResolver, DnsOutputHostResolver>();
        builder.Services.AddSingleton<OutputRetention>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutputRetention>());

        builder.Services.AddHttpClient(OutputFetcher.HttpClientName, client =>
            {
                // Each fetch carries its own deadline (Outputs:FetchTimeout) that also covers the body.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("KimaraGateway/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var policy = sp.GetRequiredService<OutputFetchPolicy>();
                var resolver = sp.GetRequiredService<IOutputHostResolver>();
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    // A proxy would make the connect-time address check meaningless.
                    UseProxy = false,
                    UseCookies = false,
                    AutomaticDecompression = DecompressionMethods.None,
                    ConnectTimeout = TimeSpan.FromSeconds(10),
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectCallback = (context, cancellationToken) => policy.ConnectAsync(context, resolver.ResolveAsync, cancellationToken),
                };
            });
        return builder;
    }
}
