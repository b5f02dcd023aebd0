using System.Net;
using Kimara.Simulator;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Refit;

namespace KimaraGateway.Upstream;

public static class UpstreamExtensions
{
    /// <summary>
    /// Registers the Kimara client: options validated at start, one resilience pipeline (reads retried with jitter
    /// honouring Retry-After, POST never retried, a circuit breaker), the key added server-side.
    /// </summary>
    public static WebApplicationBuilder AddKimaraUpstream(this WebApplicationBuilder builder)
    {
        var isDevelopment = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<KimaraOptions>()
            .BindConfiguration(KimaraOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.BaseUrl is not null || isDevelopment,
                "Kimara:BaseUrl is required outside Development (in Development it may be left unset to use the built-in simulator).")
            .Validate(o => o.BaseUrl is null || !string.IsNullOrWhiteSpace(o.ApiKey),
                "Kimara:ApiKey is required when Kimara:BaseUrl is set (environment variable Kimara__ApiKey).")
            .Validate(o => o.BaseUrl is null || (o.BaseUrl.IsAbsoluteUri && o.BaseUrl.Scheme is "http" or "https"),
                "Kimara:BaseUrl must be an absolute http(s) URL.")
            .ValidateOnStart();

        builder.Services.AddSingleton<KimaraEndpoint>();
        builder.Services.AddHostedService<KimaraEndpointResolver>();
        builder.Services.AddTransient<KimaraAuthHandler>();
        builder.Services.AddSingleton<KimaraClient>();

        var refitSettings = new RefitSettings(new SystemTextJsonContentSerializer(Hosting.JsonDefaults.Options));
        builder.Services.AddRefitGeneratedClient<IKimaraApi>(refitSettings)
            .ConfigureHttpClient((sp, client) =>
            {
                client.BaseAddress = sp.GetRequiredService<KimaraEndpoint>().BaseUrl;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("KimaraGateway/1.0");
                // The resilience pipeline owns timeouts.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler<KimaraAuthHandler>()
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions options, IServiceProvider sp) =>
            {
                // Bound without validation: a bad Kimara section is reported once, by its own ValidateOnStart, not again from here.
                var kimara = sp.GetRequiredService<IConfiguration>().GetSection(KimaraOptions.SectionName).Get<KimaraOptions>() ?? new KimaraOptions();
                options.AttemptTimeout.Timeout = kimara.AttemptTimeout;
                options.TotalRequestTimeout.Timeout = kimara.TotalTimeout;
                options.CircuitBreaker.SamplingDuration = kimara.AttemptTimeout * 3;
                options.CircuitBreaker.BreakDuration = kimara.CircuitBreakDuration;
                options.CircuitBreaker.MinimumThroughput = 10;
                options.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome));
                options.Retry.MaxRetryAttempts = 2;
                options.Retry.UseJitter = true;
                options.Retry.ShouldRetryAfterHeader = true;
                // A 429 is not retried in-line: the run tracker reschedules the poll past Retry-After instead.
                options.Retry.ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome));
                options.Retry.DisableForUnsafeHttpMethods();
            });

        return builder;
    }

    private static bool IsFailure(Outcome<HttpResponseMessage> outcome) =>
        HttpClientResiliencePredicates.IsTransient(outcome) && outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests;
}

/// <summary>Resolves <see cref="KimaraEndpoint"/> before the server accepts requests, starting the simulator when no Kimara is configured.</summary>
internal sealed partial class KimaraEndpointResolver(
    KimaraEndpoint endpoint,
    IOptions<KimaraOptions> options,
    ILogger<KimaraEndpointResolver> logger) : IHostedService, IAsyncDisposable
{
    private SimulatorServer? _simulator;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var kimara = options.Value;
        if (kimara.BaseUrl is not null)
        {
            endpoint.Resolve(kimara.BaseUrl, kimara.ApiKey!);
            LogUpstream(logger, kimara.BaseUrl);
            return;
        }

        // The gateway's own log says what matters; the simulator's per-request framework chatter would drown it.
        _simulator = await SimulatorApp.StartAsync(
            configure: null,
            configureServices: services => services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)),
            cancellationToken: cancellationToken);
        endpoint.Resolve(_simulator.BaseAddress, _simulator.ApiKey);
        LogSimulator(logger, _simulator.BaseAddress);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream Kimara at {BaseUrl}")]
    private static partial void LogUpstream(ILogger logger, Uri baseUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kimara:BaseUrl is not set: the built-in Kimara simulator runs in-process at {BaseUrl} (Development only)")]
    private static partial void LogSimulator(ILogger logger, Uri baseUrl);
}
