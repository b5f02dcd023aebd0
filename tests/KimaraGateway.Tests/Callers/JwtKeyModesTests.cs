using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KimaraGateway.Tests.Callers;

/// <summary>The JWT modes other than a shared HMAC secret: a PEM public key, and an identity provider's published keys.</summary>
public sealed class JwtKeyModesTests(CallerGateways gateways) : IClassFixture<CallerGateways>, IDisposable
{
    private readonly RSA _rsa = RSA.Create(2048);

    public void Dispose() => _rsa.Dispose();

    [Fact]
    public async Task A_Pem_Public_Key_Verifies_Rs256_Tokens_And_Refuses_It_Used_As_An_Hmac_Secret()
    {
        var pem = _rsa.ExportSubjectPublicKeyInfoPem();
        var gateway = await gateways.StartAsync([new("Auth:Jwt:SigningKey", pem), new("Auth:Jwt:Audience", TestJwt.Audience)], redis: false);

        using var signed = await GetRunsAsync(gateway, Mint("rsa-user", new SigningCredentials(new RsaSecurityKey(_rsa), SecurityAlgorithms.RsaSha256)));
        // Algorithm confusion: an HS256 token whose secret is the (public) PEM text.
        using var confused = await GetRunsAsync(gateway, Mint("mallory",
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(pem)), SecurityAlgorithms.HmacSha256)));

        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, confused.StatusCode);
    }

    [Fact]
    public async Task An_Identity_Providers_Metadata_Supplies_Issuer_And_Keys()
    {
        await using var provider = await StartProviderAsync();
        var gateway = await gateways.StartAsync([
            new("Auth:Jwt:Authority", provider.Issuer),
            new("Auth:Jwt:RequireHttpsMetadata", "false"),
            new("Auth:Jwt:Audience", TestJwt.Audience),
        ], redis: false);
        var credentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256);

        using var valid = await GetRunsAsync(gateway, Mint("idp-user", credentials, provider.Issuer));
        using var otherIssuer = await GetRunsAsync(gateway, Mint("idp-user", credentials, "https://elsewhere.test.invalid/"));

        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, otherIssuer.StatusCode);
    }

    private static async Task<HttpResponseMessage> GetRunsAsync(GatewayFactory gateway, string token)
    {
        using var client = gateway.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.GetAsync("/runs");
    }

    private static string Mint(string subject, SigningCredentials credentials, string issuer = TestJwt.Issuer) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", subject)]),
            Issuer = issuer,
            Audience = TestJwt.Audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = credentials,
        });

    /// <summary>A minimal OpenID provider on loopback: its discovery document and its one RSA key.</summary>
    private async Task<Provider> StartProviderAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var parameters = _rsa.ExportParameters(includePrivateParameters: false);
        var issuer = "";
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = issuer + ".well-known/jwks.json",
        }));
        app.MapGet("/.well-known/jwks.json", () => Results.Json(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = "k1",
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                },
            },
        }));
        await app.StartAsync();
        issuer = app.Urls.Single().TrimEnd('/') + "/";
        return new Provider(app, issuer);
    }

    private sealed record Provider(WebApplication App, string Issuer) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
