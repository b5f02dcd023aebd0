using KimaraGateway.Callers;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>The gateway API keys every test gateway is configured with.</summary>
public static class TestCallers
{
    public const string Alice = "alice";
    public const string Bob = "bob";
    public const string Admin = "admin";
    public const string Revoked = "revoked";

    /// <summary>A caller for limit tests: configure its own limits with <see cref="Limit"/>, the others keep the roomy defaults.</summary>
    public const string Limited = "limited";

    private static readonly string[] AllCallers = [Alice, Bob, Admin, Revoked, Limited];

    public static string KeyOf(string caller) => $"test-key-{caller}-5f1c9a";

    /// <summary>A setting that gives <paramref name="caller"/>'s key its own limit, e.g. <c>Limit(Limited, "ConcurrentRuns", 2)</c>.</summary>
    public static KeyValuePair<string, string?> Limit(string caller, string limit, int value) =>
        new($"Auth:ApiKeys:{Array.IndexOf(AllCallers, caller)}:Limits:{limit}", value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static IEnumerable<KeyValuePair<string, string?>> Configuration()
    {
        // Roomy defaults, so tests that poll or submit a lot are never limited unless they configure a limit themselves.
        yield return new("Auth:Limits:SubmissionsPerMinute", "100000");
        yield return new("Auth:Limits:ReadsPerSecond", "100000");
        yield return new("Auth:Limits:ConcurrentRuns", "0");
        yield return new("Auth:Limits:RunsPerDay", "0");

        var callers = AllCallers;
        for (var i = 0; i < callers.Length; i++)
        {
            yield return new($"Auth:ApiKeys:{i}:CallerId", callers[i]);
            yield return new($"Auth:ApiKeys:{i}:KeyHash", ApiKeyAuthenticationHandler.HashKey(KeyOf(callers[i])));
            if (callers[i] == Admin)
            {
                yield return new($"Auth:ApiKeys:{i}:Roles:0", CallerClaims.AdminRole);
            }

            if (callers[i] == Revoked)
            {
                yield return new($"Auth:ApiKeys:{i}:Revoked", "true");
            }
        }
    }
}
