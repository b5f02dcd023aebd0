using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>JWTs for tests, signed with a test-only HMAC key that <see cref="Settings"/> configures on a gateway.</summary>
public static class TestJwt
{
    public const string Issuer = "https://idp.test.invalid/";
    public const string Audience = "kimara-gateway-tests";
    public const string SigningKey = "test-only-hmac-key-0123456789abcdef-0123456789";

    public static IEnumerable<KeyValuePair<string, string?>> Settings() =>
    [
        new("Auth:Jwt:SigningKey", SigningKey),
        new("Auth:Jwt:Issuer", Issuer),
        new("Auth:Jwt:Audience", Audience),
    ];

    /// <summary>A token for <paramref name="subject"/>; every part can be made wrong to test refusals.</summary>
    public static string Mint(
        string subject,
        DateTime? expires = null,
        string audience = Audience,
        string signingKey = SigningKey,
        string issuer = Issuer,
        params string[] roles)
    {
        var expiry = expires ?? DateTime.UtcNow.AddMinutes(5);
        var claims = new List<Claim> { new("sub", subject) };
        claims.AddRange(roles.Select(r => new Claim("roles", r)));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity(claims),
            Issuer = issuer,
            Audience = audience,
            IssuedAt = expiry.AddMinutes(-10),
            NotBefore = expiry.AddMinutes(-10),
            Expires = expiry,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>) that would otherwise be valid.</summary>
    public static string MintUnsigned(string subject)
    {
        static string Part(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return Part("""{"alg":"none","typ":"JWT"}""") + "."
            + Part($$"""{"sub":"{{subject}}","iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}}}""") + ".";
    }
}
