using System.Net;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace KimaraGateway.Tests.Hosting;

[Collection(GatewayCollection.Name)]
public sealed class SecurityHeadersTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Kestrel_Does_Not_Announce_Itself()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null);
        using var client = gateway.CreateClient(caller: null);

        using var response = await client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Headers.Server);
    }

    [Theory]
    [InlineData("/runs", null, HttpStatusCode.Unauthorized)]
    [InlineData("/runs/no-such-run", TestCallers.Alice, HttpStatusCode.NotFound)]
    [InlineData("/no-such-route", null, HttpStatusCode.NotFound)]
    [InlineData("/health/live", null, HttpStatusCode.OK)]
    [InlineData("/runs", TestCallers.Alice, HttpStatusCode.OK)]
    public async Task Every_Response_Carries_Security_Headers(string path, string? caller, HttpStatusCode expected)
    {
        using var client = fixture.Gateway.CreateCallerClient(caller);

        using var response = await client.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal(SecurityHeaders.ApiPolicy, Header(response, "Content-Security-Policy"));
    }

    [Fact]
    public async Task Swagger_Ui_Gets_A_Policy_That_Allows_Only_Its_Own_Scripts()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/swagger/index.html");
        var policy = Header(response, "Content-Security-Policy");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
    }

    [Theory]
    [InlineData("Testing", "false")]
    [InlineData("Production", null)]
    public async Task Swagger_Is_Off_When_Disabled_And_By_Default_In_Production(string environment, string? enabled)
    {
        await using var gateway = new GatewayFactory(fixture.Simulator, redis: null, new Dictionary<string, string?> { ["Swagger:Enabled"] = enabled })
            .WithWebHostBuilder(b => b.UseEnvironment(environment));
        using var client = gateway.CreateDefaultClient(new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));

        using var document = await client.GetAsync("/swagger/v1/swagger.json");
        using var ui = await client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, ui.StatusCode);
    }

    [Fact]
    public async Task Production_Can_Opt_Into_Swagger()
    {
        await using var gateway = new GatewayFactory(fixture.Simulator, redis: null, new Dictionary<string, string?> { ["Swagger:Enabled"] = "true" })
            .WithWebHostBuilder(b => b.UseEnvironment("Production"));
        using var client = gateway.CreateDefaultClient(new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));

        using var document = await client.GetAsync("/swagger/v1/swagger.json");

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }

    [Fact]
    public async Task Configured_Https_Redirection_And_Hsts_Apply()
    {
        await using var gateway = new GatewayFactory(fixture.Simulator, redis: null, new Dictionary<string, string?>
        {
            ["Security:HttpsRedirection"] = "true",
            ["Security:HttpsPort"] = "443",
            ["Security:Hsts"] = "true",
            ["Security:HstsMaxAge"] = "30.00:00:00",
        });
        using var plain = gateway.CreateDefaultClient(new Uri("http://gateway.example"), new SecretLeakCheck(fixture.Simulator.ApiKey, gateway.Logs));
        using var tls = gateway.CreateDefaultClient(new Uri("https://gateway.example"), new SecretLeakCheck(fixture.Simulator.ApiKey, gateway.Logs));

        using var redirected = await plain.GetAsync("/health/live");
        using var secure = await tls.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirected.StatusCode);
        Assert.Equal(new Uri("https://gateway.example/health/live"), redirected.Headers.Location);
        Assert.Equal("nosniff", Header(redirected, "X-Content-Type-Options"));
        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.Equal("max-age=2592000", Header(secure, "Strict-Transport-Security"));
    }

    [Fact]
    public async Task Without_Tls_Settings_Neither_Redirect_Nor_Hsts_Is_Sent()
    {
        using var plain = fixture.Gateway.CreateDefaultClient(new Uri("http://gateway.example"), new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));
        using var tls = fixture.Gateway.CreateDefaultClient(new Uri("https://gateway.example"), new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));

        using var overPlain = await plain.GetAsync("/health/live");
        using var overTls = await tls.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, overPlain.StatusCode);
        Assert.False(overTls.Headers.Contains("Strict-Transport-Security"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";
}
