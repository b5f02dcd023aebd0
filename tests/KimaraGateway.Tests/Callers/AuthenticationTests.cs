using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Callers;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Callers;

/// <summary>A gateway with both schemes on: JWT (test signing key) and API keys, one of them minted by --mint-api-key.</summary>
public sealed class JwtGatewayFixture : IAsyncLifetime
{
    public const string MintedCaller = "ci-nightly";

    public CallerGateways Gateways { get; } = new();

    public GatewayFactory Gateway { get; private set; } = null!;

    public string MintedKey { get; private set; } = "";

    public string MintOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var output = new StringWriter();
        Assert.True(ApiKeyMinting.TryRun([ApiKeyMinting.Switch, MintedCaller], output));
        MintOutput = output.ToString();
        MintedKey = MintOutput.Split('\n')[0].Split(": ")[1].Trim();
        var hash = MintOutput.Split('\n')[1].Split(':')[1].Trim();

        await Gateways.InitializeAsync();
        Gateway = await Gateways.StartAsync([
            .. TestJwt.Settings(),
            new("Auth:ApiKeys:9:CallerId", MintedCaller),
            new("Auth:ApiKeys:9:KeyHash", hash),
        ]);
    }

    public Task DisposeAsync() => Gateways.DisposeAsync();
}

public sealed class AuthenticationTests(JwtGatewayFixture fixture) : IClassFixture<JwtGatewayFixture>
{
    private GatewayFactory Gateway => fixture.Gateway;

    [Fact]
    public async Task No_Credential_Is_401_Problem_With_WWW_Authenticate()
    {
        using var client = Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/runs");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.First().Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("unauthorized", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Bearer", "nobody")]
    [InlineData("X-Api-Key", "nobody")]
    [InlineData("Bearer", TestCallers.Revoked)]
    [InlineData("X-Api-Key", TestCallers.Revoked)]
    public async Task Unknown_Or_Revoked_Api_Key_Is_401(string header, string caller)
    {
        var key = TestCallers.KeyOf(caller);
        using var client = Gateway.CreateCallerClient(caller: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/runs");
        Authorize(request, header, key);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("X-Api-Key")]
    public async Task Api_Key_Works_As_Bearer_Or_X_Api_Key_Beside_Jwt(string header)
    {
        using var client = Gateway.CreateCallerClient(caller: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/runs");
        Authorize(request, header, TestCallers.KeyOf(TestCallers.Alice));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_Minted_Key_Authenticates_As_Its_Caller()
    {
        Assert.DoesNotContain('.', fixture.MintedKey);
        Assert.Contains($"\"CallerId\": \"{JwtGatewayFixture.MintedCaller}\"", fixture.MintOutput, StringComparison.Ordinal);
        using var client = Gateway.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.MintedKey);

        var run = await client.SubmitTextToImageAsync();

        using var admin = Gateway.CreateCallerClient(TestCallers.Admin);
        var listed = await admin.GetFromJsonAsync<JsonObject>($"/runs?caller={JwtGatewayFixture.MintedCaller}");
        Assert.Contains(listed!["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == run["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Valid_Jwt_Authenticates_Its_Subject_As_The_Caller()
    {
        var subject = "user-" + Guid.NewGuid().ToString("N")[..8];
        using var user = JwtClient(TestJwt.Mint(subject));
        using var someoneElse = JwtClient(TestJwt.Mint(subject + "-other"));

        var run = await user.SubmitTextToImageAsync();
        var id = run["id"]!.GetValue<string>();

        Assert.Equal(id, (await user.GetRunAsync(id))["id"]!.GetValue<string>());
        using var foreign = await someoneElse.GetAsync($"/runs/{id}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
    }

    public static TheoryData<string, Func<string>> BadTokens() => new()
    {
        { "expired", () => TestJwt.Mint("mallory", expires: DateTime.UtcNow.AddMinutes(-5)) },
        { "wrong audience", () => TestJwt.Mint("mallory", audience: "some-other-api") },
        { "wrong issuer", () => TestJwt.Mint("mallory", issuer: "https://evil.test.invalid/") },
        { "wrong signature", () => TestJwt.Mint("mallory", signingKey: "another-hmac-key-of-enough-length-0123456789") },
        { "alg none", () => TestJwt.MintUnsigned("mallory") },
        { "garbage with two dots", () => "not.a.jwt" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_Jwt_Is_401(string why, Func<string> token)
    {
        using var client = JwtClient(token());

        using var response = await client.GetAsync("/runs");

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{why}: {response.StatusCode}");
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_OpenApi_Document_Offers_Bearer_X_Api_Key_And_Idempotency_Key_And_Declares_The_Submission_Refusals()
    {
        using var client = Gateway.CreateCallerClient(caller: null);

        var document = (await client.GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json"))!;

        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("bearer", schemes["Bearer"]!["scheme"]!.GetValue<string>());
        Assert.Equal("X-Api-Key", schemes[ApiKeyAuthenticationHandler.SchemeName]!["name"]!.GetValue<string>());
        var post = document["paths"]!["/runs"]!["post"]!;
        Assert.Contains(post["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "Idempotency-Key" && p["in"]!.GetValue<string>() == "header");
        var submit = post["responses"]!.AsObject();
        foreach (var status in new[] { "401", "409", "422", "429" })
        {
            Assert.True(submit.ContainsKey(status), $"POST /runs does not declare {status}");
        }
    }

    [Fact]
    public async Task Admin_Role_From_Jwt_May_List_Another_Callers_Runs_An_Ordinary_Caller_May_Not()
    {
        using var alice = Gateway.CreateCallerClient(TestCallers.Alice);
        var run = await alice.SubmitTextToImageAsync();
        using var admin = JwtClient(TestJwt.Mint("ops-person", roles: CallerClaims.AdminRole));
        using var ordinary = JwtClient(TestJwt.Mint("plain-person"));
        using var bob = Gateway.CreateCallerClient(TestCallers.Bob);

        var listed = await admin.GetFromJsonAsync<JsonObject>($"/runs?caller={TestCallers.Alice}");
        using var refusedJwt = await ordinary.GetAsync($"/runs?caller={TestCallers.Alice}");
        using var refusedKey = await bob.GetAsync($"/runs?caller={TestCallers.Alice}");

        Assert.Contains(listed!["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == run["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, refusedJwt.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refusedKey.StatusCode);
    }

    [Fact]
    public async Task Jwt_Is_Refused_Where_Jwt_Is_Not_Configured()
    {
        var plain = await fixture.Gateways.StartAsync();
        using var client = plain.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestJwt.Mint(TestCallers.Alice));

        using var response = await client.GetAsync("/runs");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("Auth:Jwt:SigningKey", "short", "Auth:Jwt:SigningKey")]
    [InlineData("Auth:Jwt:Authority", "https://idp.test.invalid/", "Auth:Jwt:Audience")]
    [InlineData("Auth:ApiKeys:0:KeyHash", "not-a-hash", "Auth:ApiKeys:0:KeyHash")]
    [InlineData("Auth:Limits:ConcurrentRuns", "-1", "Auth:Limits:ConcurrentRuns")]
    [InlineData("Cors:AllowedOrigins:0", "*", "Cors:AllowedOrigins")]
    public async Task Bad_Configuration_Stops_Startup_Naming_The_Key(string key, string value, string named)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Gateways.StartAsync([new(key, value)]));

        Assert.Contains(named, Flatten(failure), StringComparison.Ordinal);
    }

    private HttpClient JwtClient(string token)
    {
        var client = Gateway.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static void Authorize(HttpRequestMessage request, string header, string key)
    {
        if (header == "Bearer")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        else
        {
            request.Headers.Add(header, key);
        }
    }

    private static string Flatten(Exception failure) => failure switch
    {
        OptionsValidationException options => string.Join(' ', options.Failures),
        AggregateException aggregate => string.Join(' ', aggregate.InnerExceptions.Select(Flatten)),
        _ => failure.Message + " " + (failure.InnerException is { } inner ? Flatten(inner) : ""),
    };
}
