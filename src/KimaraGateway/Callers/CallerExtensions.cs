using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace KimaraGateway.Callers;

public static class CallerExtensions
{
    public const string CallerPolicy = "caller";

    /// <summary>
    /// Registers caller authentication (gateway API keys, forwarding JWTs to JWT bearer), the policy every run route
    /// requires, idempotent submission, the per-caller limits (in Redis when <c>ConnectionStrings:Redis</c> is set) and CORS.
    /// </summary>
    public static WebApplicationBuilder AddCallers(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddCallerAuthentication();
        services.AddHostedService<AuthAnnouncement>();
        services.AddAuthorizationBuilder()
            // The caller schemes are the default, already run by the authentication middleware: naming them here again
            // would authenticate every request twice.
            .AddPolicy(CallerPolicy, policy => policy
                .RequireAuthenticatedUser()
                .RequireClaim(CallerClaims.CallerId));

        // The same choice the run store makes: shared state in Redis when there is one, else this process only.
        var redis = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(RunsExtensions.RedisConnectionName));
        if (redis)
        {
            services.AddSingleton<IIdempotencyStore, RedisIdempotencyStore>();
            services.AddSingleton<IActiveRunSlotStore, RedisActiveRunSlotStore>();
        }
        else
        {
            services.AddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
            services.AddSingleton<IActiveRunSlotStore, InMemoryActiveRunSlotStore>();
        }

        services.AddSingleton(sp => new CallerRateLimiters(
            redis ? sp.GetRequiredService<IConnectionMultiplexer>() : null, sp.GetRequiredService<IOptions<RunStoreOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<CallerLimits>();
        services.AddSingleton<ActiveRunSlots>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = RateLimitRejection.OnRejectedAsync;
            options.AddPolicy(CallerRateLimiters.SubmissionsPolicy, context => PartitionOf(context, CallerRateLimiters.Submissions));
            options.AddPolicy(CallerRateLimiters.ReadsPolicy, context => PartitionOf(context, CallerRateLimiters.Reads));
        });

        services.AddCallerCors();
        services.ConfigureSwaggerGen(o => o.OperationFilter<IdempotencyKeyOperationFilter>());
        return builder;
    }

    /// <summary>CORS (before authentication, so preflights and 401s carry it), authentication, authorization, then the limits.</summary>
    public static WebApplication UseCallers(this WebApplication app)
    {
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>
    /// What every caller route carries: the caller policy, the per-caller read limit, and the 401 and 429 problems they
    /// answer with in the OpenAPI document.
    /// </summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder
        .RequireAuthorization(CallerPolicy)
        .RequireRateLimiting(CallerRateLimiters.ReadsPolicy)
        .WithMetadata(
            new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ProblemDetails), ["application/problem+json"]),
            new ProducesResponseTypeMetadata(StatusCodes.Status429TooManyRequests, typeof(ProblemDetails), ["application/problem+json"]));

    /// <summary>On <c>POST /runs</c>: the submission rate, then <c>Idempotency-Key</c>, then the run limits (which replays skip).</summary>
    public static RouteHandlerBuilder WithCallerSubmissionRules(this RouteHandlerBuilder route) => route
        .RequireRateLimiting(CallerRateLimiters.SubmissionsPolicy)
        .WithMetadata(new IdempotentSubmissionMetadata())
        .AddEndpointFilter<IdempotencyFilter>()
        .AddEndpointFilter<SubmissionLimitsFilter>()
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    private static System.Threading.RateLimiting.RateLimitPartition<string> PartitionOf(HttpContext context, Func<EffectiveLimits, LimitWindow> limit)
    {
        var limits = context.RequestServices.GetRequiredService<CallerLimits>().For(context.User);
        var callerId = context.User.FindFirst(CallerClaims.CallerId)?.Value ?? "";
        return context.RequestServices.GetRequiredService<CallerRateLimiters>().Partition(callerId, limit(limits));
    }
}
