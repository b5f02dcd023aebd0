using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Tests.Frontend;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KimaraGateway.Tests.Hosting;

/// <summary>
/// The sample nginx configuration (deploy/nginx) in a real nginx, in front of the built gateway as its own process
/// (Production, configured by environment variables, Redis) and the simulator. nginx connects from 127.0.0.2, the
/// only proxy the gateway trusts; callers connect from 127.0.0.3 through nginx, or from 127.0.0.1 directly.
/// </summary>
public sealed class NginxFixture : IAsyncLifetime
{
    public const string Prefix = "/kimara/";
    public static readonly IPAddress ProxyAddress = IPAddress.Parse("127.0.0.2");

    public SimulatorServer Simulator { get; private set; } = null!;

    public GatewayProcess Gateway { get; private set; } = null!;

    public NginxServer Nginx { get; private set; } = null!;

    public LogCapture NoLogs { get; } = new();

    public Uri PublicAddress => new($"http://127.0.0.1:{Nginx.Port}{Prefix}");

    public async Task InitializeAsync()
    {
        // Runs long enough that an event stream's first event demonstrably arrives before the run ends.
        Simulator = await GatewayFixture.StartSimulatorAsync(o => o.RunningSeconds = 4);
        var redis = await RedisServer.Shared;
        Gateway = await GatewayProcess.StartAsync(Simulator, redis.ConnectionString, $"n{Guid.NewGuid():N}:"[..13],
            new Dictionary<string, string?> { ["ReverseProxy:KnownProxies:0"] = ProxyAddress.ToString(), ["Frontend:Enabled"] = "true" },
            environment: "Production");
        var sample = await File.ReadAllTextAsync(RepositoryPaths.Of("deploy/nginx/kimara-gateway.conf"));
        Nginx = await NginxServer.StartAsync(port => ForTest(sample, port, Gateway.Address));
    }

    /// <summary>The sample as shipped, pointed at this test's ports, with nginx's outgoing address pinned to the trusted proxy's.</summary>
    private static string ForTest(string sample, int port, Uri gateway)
    {
        string[] expected = ["listen 80;", "server 127.0.0.1:8080 "];
        foreach (var text in expected)
        {
            Assert.Contains(text, sample, StringComparison.Ordinal);
        }

        return sample
            .Replace("listen 80;", $"listen 127.0.0.1:{port};\n    proxy_bind {ProxyAddress};", StringComparison.Ordinal)
            .Replace("server 127.0.0.1:8080 ", $"server {gateway.Authority} ", StringComparison.Ordinal);
    }

    public HttpClient ThroughNginx(string? caller = TestCallers.Alice) =>
        LoopbackClients.Create(PublicAddress, LoopbackClients.Client, Simulator.ApiKey, NoLogs, caller is null ? null : TestCallers.KeyOf(caller));

    public HttpClient Direct(string? caller = TestCallers.Alice) =>
        LoopbackClients.Create(Gateway.Address, IPAddress.Loopback, Simulator.ApiKey, NoLogs, caller is null ? null : TestCallers.KeyOf(caller));

    public async Task DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

public sealed class NginxReverseProxyTests(NginxFixture fixture) : IClassFixture<NginxFixture>
{
    [Fact]
    public async Task Documented_Flow_Works_Through_Nginx_Under_A_Path_Prefix()
    {
        using var client = fixture.ThroughNginx();

        using var submitted = await client.PostAsJsonAsync("runs", new { app_id = "text-to-image", inputs = new { prompt = "a beautiful landscape at sunset" } });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var done = await PollUntilTerminalAsync(client, submitted.Headers.Location!);
        var outputUrl = new Uri(done["output_url"]!.GetValue<string>());
        using var output = await client.GetAsync(outputUrl);

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(new Uri(fixture.PublicAddress, $"runs/{id}"), submitted.Headers.Location);
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.StartsWith(fixture.PublicAddress.ToString(), outputUrl.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, output.StatusCode);
        Assert.Equal("image/png", output.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, (await output.Content.ReadAsByteArrayAsync())[..4]);
    }

    [Fact]
    public async Task Run_Events_Stream_Through_Nginx_As_They_Happen()
    {
        using var client = fixture.ThroughNginx();
        using var direct = fixture.Direct();
        using var submitted = await client.PostAsJsonAsync("runs", new { app_id = "text-to-image", inputs = new { prompt = "a stream of events" } });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"runs/{id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        var first = await NextEventAsync(reader);
        var statusWhenFirstArrived = (await direct.GetFromJsonAsync<JsonObject>($"runs/{id}"))!["status"]!.GetValue<string>();
        var statuses = new List<string> { first["status"]!.GetValue<string>() };
        while (statuses[^1] is not ("completed" or "failed"))
        {
            statuses.Add((await NextEventAsync(reader))["status"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.NotEqual("completed", statusWhenFirstArrived);
        Assert.Equal("completed", statuses[^1]);
        // The gateway ends the stream after the terminal status, and nginx passes the end on.
        Assert.True(string.IsNullOrWhiteSpace(await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public async Task The_Frontend_Runs_An_App_Through_Nginx_Under_The_Prefix()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        await using var session = await FrontendSession.OpenAsync(browser, fixture.PublicAddress);
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Alice));

        await session.Field("prompt").FillAsync("through the proxy");
        await session.Page.Locator("#submit").ClickAsync();
        var id = await session.WaitForStatusAsync("completed");
        var width = await session.LoadedImageWidthAsync("#output-image");
        await session.LoadedImageWidthAsync($"#history li[data-run-id='{id}'] img");
        await session.ScreenshotAsync("frontend-through-nginx");
        var src = await session.Page.Locator("#output-image").GetAttributeAsync("src");

        Assert.True(width > 0);
        Assert.StartsWith(new Uri(fixture.PublicAddress, "outputs/").ToString(), src, StringComparison.Ordinal);
        Assert.Empty(await session.CspViolationsAsync());
        Assert.Empty(session.FailedResponses);
    }

    [Fact]
    public async Task A_Spoofed_Forwarded_For_Sent_Directly_To_The_Gateway_Is_Ignored()
    {
        using var client = fixture.Direct();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");
        client.DefaultRequestHeaders.Add("X-Forwarded-Host", "evil.example");
        client.DefaultRequestHeaders.Add("X-Forwarded-Prefix", "/elsewhere");

        using var submitted = await client.PostAsJsonAsync("runs", new { app_id = "text-to-image", inputs = new { prompt = "spoofed" } });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var logged = await fixture.Gateway.WaitForEventAsync(e => RequestLogOf(e, "POST", id), "for the direct POST");

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(new Uri(fixture.Gateway.Address, $"runs/{id}"), submitted.Headers.Location);
        Assert.Equal("127.0.0.1", logged["ClientIp"]!.GetValue<string>());
        Assert.DoesNotContain(fixture.Gateway.Logs.Lines, l => l.Contains("203.0.113.9", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Through_Nginx_The_Logs_Name_The_Real_Client_Caller_Run_App_And_Trace()
    {
        using var client = fixture.ThroughNginx();
        // nginx appends the address it saw; the gateway walks back only through proxies it trusts.
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.10");

        using var submitted = await client.PostAsJsonAsync("runs", new { app_id = "text-to-image", inputs = new { prompt = "who am I" } });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var logged = await fixture.Gateway.WaitForEventAsync(e => RequestLogOf(e, "POST", id), "for the POST through nginx");

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(LoopbackClients.Client.ToString(), logged["ClientIp"]!.GetValue<string>());
        Assert.Equal(TestCallers.Alice, logged["CallerId"]!.GetValue<string>());
        Assert.Equal("text-to-image", logged["AppId"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", logged["@tr"]!.GetValue<string>());
    }

    [Fact]
    public async Task Outside_Development_Every_Log_Line_Is_Json_And_None_Carries_The_Kimara_Key()
    {
        using var client = fixture.Direct();
        using var response = await client.GetAsync("health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(fixture.Gateway.Logs.Lines);
        Assert.All(fixture.Gateway.Logs.Lines, line => Assert.NotNull(JsonNode.Parse(line)?["@t"]));
        Assert.DoesNotContain(fixture.Gateway.Logs.Lines, l => l.Contains(fixture.Simulator.ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_Are_Refused_At_Nginx_But_Scraped_Directly()
    {
        using var outside = fixture.ThroughNginx(caller: null);
        using var direct = fixture.Direct(caller: null);
        using var caller = fixture.ThroughNginx();
        using var submitted = await caller.PostAsJsonAsync("runs", new { app_id = "text-to-image", inputs = new { prompt = "counted" } });

        using var throughNginx = await outside.GetAsync("metrics");
        using var scraped = await direct.GetAsync("metrics");
        using var ready = await outside.GetAsync("health/ready");

        Assert.Equal(HttpStatusCode.NotFound, throughNginx.StatusCode);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("kimara_gateway_runs_submitted_total{", await scraped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    private static bool RequestLogOf(JsonObject e, string method, string runId) =>
        e["RequestMethod"]?.GetValue<string>() == method && e["RunId"]?.GetValue<string>() == runId && e["StatusCode"] is not null;

    private static async Task<JsonObject> PollUntilTerminalAsync(HttpClient client, Uri location)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var run = (await client.GetFromJsonAsync<JsonObject>(location))!;
            if (run["status"]!.GetValue<string>() is "completed" or "failed")
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The run is still {run["status"]} after 30 s.");
            await Task.Delay(250);
        }
    }

    private static async Task<JsonObject> NextEventAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonNode.Parse(line["data: ".Length..])!.AsObject();
            }
        }

        throw new InvalidOperationException("The event stream ended before the next event.");
    }
}
