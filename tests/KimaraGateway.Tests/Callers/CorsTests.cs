using System.Net;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Callers;

public sealed class CorsTests(CallerGateways gateways) : IClassFixture<CallerGateways>
{
    private const string Frontend = "https://app.example.test";
    private const string Stranger = "https://evil.example.test";

    [Fact]
    public async Task A_Preflight_From_The_Configured_Origin_Allows_Credentials_And_The_Frontends_Headers()
    {
        var gateway = await StartAsync();
        using var client = gateway.CreateCallerClient(caller: null);

        using var response = await client.SendAsync(Preflight(Frontend));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Frontend, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        var allowed = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        foreach (var header in new[] { "authorization", "content-type", "idempotency-key", "last-event-id" })
        {
            Assert.Contains(header, allowed, StringComparison.Ordinal);
        }

        Assert.Equal("600", Header(response, "Access-Control-Max-Age"));
    }

    [Fact]
    public async Task A_Request_From_The_Configured_Origin_Exposes_The_Headers_The_Frontend_Reads()
    {
        var gateway = await StartAsync();
        using var client = gateway.CreateCallerClient(TestCallers.Alice);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/runs");
        request.Headers.Add("Origin", Frontend);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Frontend, Header(response, "Access-Control-Allow-Origin"));
        var exposed = Header(response, "Access-Control-Expose-Headers")!;
        foreach (var header in new[] { "Location", "ETag", "Retry-After", "RateLimit", "RateLimit-Policy" })
        {
            Assert.Contains(header, exposed.Split(','), StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Another_Origin_Gets_No_Cors_Headers()
    {
        var gateway = await StartAsync();
        using var client = gateway.CreateCallerClient(TestCallers.Alice);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/runs");
        request.Headers.Add("Origin", Stranger);

        using var preflight = await client.SendAsync(Preflight(Stranger));
        using var response = await client.SendAsync(request);

        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Without_Configured_Origins_No_Origin_Is_Allowed()
    {
        var gateway = await gateways.StartAsync();
        using var client = gateway.CreateCallerClient(caller: null);

        using var response = await client.SendAsync(Preflight(Frontend));

        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
    }

    private Task<GatewayFactory> StartAsync() => gateways.StartAsync([new("Cors:AllowedOrigins:0", Frontend)], redis: false);

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/runs");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,idempotency-key");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(',', values) : null;
}
