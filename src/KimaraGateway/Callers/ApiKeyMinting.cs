using System.Security.Cryptography;

namespace KimaraGateway.Callers;

/// <summary>
/// <c>--mint-api-key [caller-id]</c>: prints a new gateway API key and the hash to configure for it, then exits before the
/// host is built. No endpoint mints keys, so a compromised caller can never make one.
/// </summary>
public static class ApiKeyMinting
{
    public const string Switch = "--mint-api-key";

    public static bool TryRun(string[] args, TextWriter output)
    {
        var at = Array.IndexOf(args, Switch);
        if (at < 0)
        {
            return false;
        }

        var callerId = at + 1 < args.Length && !args[at + 1].StartsWith("--", StringComparison.Ordinal) ? args[at + 1] : "my-caller";
        var key = NewKey();
        var hash = ApiKeyAuthenticationHandler.HashKey(key);
        output.WriteLine($"API key (give it to the caller; it is not stored anywhere): {key}");
        output.WriteLine($"SHA-256 to configure:                                    {hash}");
        output.WriteLine();
        output.WriteLine("appsettings.json:");
        output.WriteLine($$"""  "Auth": { "ApiKeys": [ { "CallerId": "{{callerId}}", "KeyHash": "{{hash}}" } ] }""");
        output.WriteLine("environment (N = the key's index):");
        output.WriteLine($"  Auth__ApiKeys__N__CallerId={callerId}");
        output.WriteLine($"  Auth__ApiKeys__N__KeyHash={hash}");
        return true;
    }

    /// <summary>256 random bits, base64url: no dots, so it is never mistaken for a JWT.</summary>
    public static string NewKey() =>
        "kgw_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
