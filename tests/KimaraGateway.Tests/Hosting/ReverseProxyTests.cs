using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Hosting;

/// <summary>Forwarded headers on real Kestrel, where each connection has a real remote address.</summary>
public sealed class ReverseProxyTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private static readonly IPAddress Proxy = IPAddress.Parse("127.0.0.2");

    private static readonly Dictionary<string, string?> TrustProxy = new() { ["ReverseProxy:KnownProxies:0"] = Proxy.ToString() };

    [Fact]
    public async Task Forwarded_Headers_From_A_Known_Proxy_Shape_Location_Swagger_Server_And_Logged_Client()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null, TrustProxy);
        using var client = gateway.CreateClient(source: Proxy);
        AddForwardedHeaders(client);

        using var submitted = await client.SubmitAsync("text-to-image", new { prompt = "a lighthouse" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var document = await client.GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json");

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(new Uri($"https://gateway.example.com/kimara/runs/{id}"), submitted.Headers.Location);
        Assert.Equal("https://gateway.example.com/kimara", document!["servers"]![0]!["url"]!.GetValue<string>());
        Assert.True(await gateway.Logs.WaitForAsync("ClientIp=\"198.51.100.7\""), "The request log names the client the proxy forwarded for.");
    }

    [Fact]
    public async Task Forwarded_Headers_From_An_Unlisted_Address_Are_Ignored()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null, TrustProxy);
        using var client = gateway.CreateClient(source: IPAddress.Loopback);
        AddForwardedHeaders(client);

        using var submitted = await client.SubmitAsync("text-to-image", new { prompt = "a lighthouse" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(new Uri(gateway.Address, $"/runs/{id}"), submitted.Headers.Location);
        Assert.True(await gateway.Logs.WaitForAsync("ClientIp=\"127.0.0.1\""));
        Assert.False(gateway.Logs.Contains("198.51.100.7"), "A spoofed X-Forwarded-For reached the logs.");
    }

    [Fact]
    public async Task Configured_PathBase_Serves_Under_The_Prefix_And_Links_Carry_It()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null, new Dictionary<string, string?> { ["ReverseProxy:PathBase"] = "/kimara" });
        using var client = gateway.CreateClient();

        using var submitted = await client.PostAsJsonAsync("/kimara/runs", new { app_id = "text-to-image", inputs = new { prompt = "a lighthouse" } });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var read = await client.GetAsync(submitted.Headers.Location);
        var document = await client.GetFromJsonAsync<JsonObject>("/kimara/swagger/v1/swagger.json");

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(new Uri(gateway.Address, $"/kimara/runs/{id}"), submitted.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(new Uri(gateway.Address, "/kimara").ToString().TrimEnd('/'), document!["servers"]![0]!["url"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("ReverseProxy:KnownIPNetworks:0", "10.0.0.0/33")]
    [InlineData("ReverseProxy:KnownProxies:0", "proxy.internal")]
    [InlineData("ReverseProxy:PathBase", "kimara/")]
    public void Invalid_Proxy_Settings_Stop_Startup_Naming_The_Key(string key, string value)
    {
        using var factory = new GatewayFactory(fixture.Simulator, redis: null, new Dictionary<string, string?> { [key] = value });

        var error = Record.Exception(() => factory.Server);

        Assert.NotNull(error);
        var keyWithoutIndex = key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key;
        Assert.Contains(keyWithoutIndex, Messages(error), StringComparison.Ordinal);
    }

    private static void AddForwardedHeaders(HttpClient client)
    {
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.7");
        client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        client.DefaultRequestHeaders.Add("X-Forwarded-Host", "gateway.example.com");
        client.DefaultRequestHeaders.Add("X-Forwarded-Prefix", "/kimara");
    }

    private static string Messages(Exception error)
    {
        var all = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            all.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                all.AddRange(aggregate.InnerExceptions.Select(Messages));
            }
        }

        return string.Join(" | ", all);
    }
}
