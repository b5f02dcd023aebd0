using FluentValidation;
using StackExchange.Redis;

namespace KimaraGateway.Runs;

public static partial class RunsExtensions
{
    public const string RedisConnectionName = "Redis";

    /// <summary>Registers the run store (Redis when <c>ConnectionStrings:Redis</c> is set, else in memory), the tracker and the readers.</summary>
    public static WebApplicationBuilder AddRuns(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RunStoreOptions>().BindConfiguration(RunStoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TrackingOptions>().BindConfiguration(TrackingOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => o.MaxPollInterval >= o.PollInterval, "Tracking:MaxPollInterval must not be shorter than Tracking:PollInterval.")
            .Validate(o => o.Lease > o.PollInterval, "Tracking:Lease must be longer than Tracking:PollInterval.")
            .ValidateOnStart();

        var redis = builder.Configuration.GetConnectionString(RedisConnectionName);
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<IRunStore, InMemoryRunStore>();
        }
        else
        {
            builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
            {
                var configuration = ConfigurationOptions.Parse(redis);
                // Start and keep retrying while Redis is away; requests that need it answer 503 meanwhile.
                configuration.AbortOnConnectFail = false;
                return ConnectionMultiplexer.Connect(configuration);
            });
            builder.Services.AddSingleton<IRunStore, RedisRunStore>();
        }

        builder.Services.AddHostedService(sp => new StoreAnnouncement(sp.GetRequiredService<ILogger<StoreAnnouncement>>(), redis));
        builder.Services.AddSingleton<RunSubmitter>();
        builder.Services.AddSingleton<RunPoller>();
        builder.Services.AddSingleton<RunRecordCache>();
        builder.Services.AddSingleton<RunReader>();
        builder.Services.AddSingleton<RunChangeHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RunChangeHub>());
        builder.Services.AddSingleton<RunTracker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RunTracker>());
        builder.Services.AddSingleton<IValidator<SubmitRunRequest>, SubmitRunRequestValidator>();
        builder.Services.ConfigureSwaggerGen(options => options.OperationFilter<RunExamplesOperationFilter>());
        return builder;
    }

    /// <summary>Says in the startup log which store holds runs, since the in-memory one is for a single instance only.</summary>
    private sealed partial class StoreAnnouncement(ILogger<StoreAnnouncement> logger, string? redis) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(redis))
            {
                LogInMemory(logger);
            }
            else
            {
                LogRedis(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "ConnectionStrings:Redis is not set: runs are kept in memory (single instance only; lost on restart)")]
        private static partial void LogInMemory(ILogger logger);

        [LoggerMessage(Level = LogLevel.Information, Message = "Runs are stored in Redis (ConnectionStrings:Redis)")]
        private static partial void LogRedis(ILogger logger);
    }
}
