using System.Security.Claims;

namespace KimaraGateway.Callers;

/// <summary>Claims the gateway puts on (or reads from) a caller's principal.</summary>
public static class CallerClaims
{
    public const string CallerId = "sub";
    public const string App = "kgw:app";
    public const string Scheme = "kgw:scheme";
    public const string KeyId = "kgw:key";
    public const string AdminRole = "admin";

    /// <summary>The authenticated caller's id; endpoints behind the caller policy always have one.</summary>
    public static string GetCallerId(this ClaimsPrincipal user) =>
        user.FindFirstValue(CallerId) ?? throw new InvalidOperationException("The endpoint is not behind the caller policy.");
}
