using KimaraGateway.Callers;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>The gateway API keys every test gateway is configured with.</summary>
public static class TestCallers
{
    public const string Alice = "alice";
    public const string Bob = "bob";
    public const string Admin = "admin";
    public const string Revoked = "revoked";

    public static string KeyOf(string caller) => $"test-key-{caller}-5f1c9a";

    public static IEnumerable<KeyValuePair<string, string?>> Configuration()
    {
        string[] callers = [Alice, Bob, Admin, Revoked];
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
