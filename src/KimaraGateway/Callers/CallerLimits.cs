using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>The limits in force for one caller: its key's own, each unset one taken from <c>Auth:Limits</c>. 0 = no limit.</summary>
public sealed record EffectiveLimits(
    int SubmissionsPerMinute,
    int ReadsPerSecond,
    int ConcurrentRuns,
    int RunsPerDay,
    IReadOnlyDictionary<string, int> RunsPerDayPerApp);

/// <summary>Finds a caller's limits: by the API key that authenticated it, else (JWT callers) the defaults.</summary>
public sealed class CallerLimits(IOptions<AuthOptions> options)
{
    private readonly Dictionary<string, EffectiveLimits> _byKeyId = options.Value.ApiKeys
        .GroupBy(k => ApiKeyAuthenticationHandler.KeyIdOf(k.KeyHash))
        .ToDictionary(g => g.Key, g => Merge(g.First().Limits, options.Value.Limits), StringComparer.Ordinal);

    private readonly EffectiveLimits _defaults = Merge(new CallerLimitOptions(), options.Value.Limits);

    public EffectiveLimits For(ClaimsPrincipal user) =>
        user.FindFirstValue(CallerClaims.KeyId) is { } keyId && _byKeyId.TryGetValue(keyId, out var limits) ? limits : _defaults;

    private static EffectiveLimits Merge(CallerLimitOptions own, CallerLimitOptions defaults)
    {
        var perApp = new Dictionary<string, int>(defaults.RunsPerDayPerApp, StringComparer.Ordinal);
        foreach (var (app, limit) in own.RunsPerDayPerApp)
        {
            perApp[app] = limit;
        }

        return new EffectiveLimits(
            own.SubmissionsPerMinute ?? defaults.SubmissionsPerMinute ?? 0,
            own.ReadsPerSecond ?? defaults.ReadsPerSecond ?? 0,
            own.ConcurrentRuns ?? defaults.ConcurrentRuns ?? 0,
            own.RunsPerDay ?? defaults.RunsPerDay ?? 0,
            perApp);
    }
}
