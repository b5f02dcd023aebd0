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

        // Chosen from the bound options when first resolved, so every configuration source (tests' included) counts.
        builder.Services.AddSingleton<IOutputStore>(sp => sp.GetRequiredService<IOptions<OutputsOptions>>().Value.Store == OutputStoreKind.S3
            ? ActivatorUtilities.CreateInstance<S3OutputStore>(sp)
            : ActivatorUtilities.CreateInstance<FileOutputStore>(sp));
        builder.Services.AddSingleton<IRunCompletion>(sp => sp.GetRequiredService<IOptions<OutputsOptions>>().Value.Mode == OutputMode.Proxy
            ? ActivatorUtilities.CreateInstance<ProxyCompletion>(sp)
            : ActivatorUtilities.CreateInstance<RehostCompletion>(sp));

        builder.Services.AddSingleton<OutputLinks>();
        builder.Services.AddSingleton<OutputServer>();
        builder.Services.AddSingleton<OutputFetchPolicy>();
        builder.Services.AddSingleton<OutputFetcher>();
        builder.Services.AddSingleton<IOutputHostResolver, DnsOutputHostResolver>();
        builder.Services.AddSingleton<OutputRetention>();
        builder.Services.AddHealthChecks().AddCheck<OutputStoreHealthCheck>("output-store", tags: [Hosting.Health.ReadyTag], timeout: TimeSpan.FromSeconds(5));
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
