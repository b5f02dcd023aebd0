using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Outputs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

/// <summary>What one hostile-output run did: the run as the caller sees it, and what reached the simulator's CDN.</summary>
public sealed record FetchOutcome(JsonObject Run, int CdnCalls, LogCapture Logs)
{
    public string Error => Run["error"]!.GetValue<string>();

    public void AssertRefused(string logged)
    {
        Assert.Equal("failed", Run["status"]!.GetValue<string>());
        Assert.Equal("output_unavailable", Run["error_code"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(Error));
        Assert.Null(Run["output_url"]);
        Assert.True(Logs.Contains(logged), $"No log line says '{logged}'. Log: {string.Join(" | ", Logs.Lines.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal)))}");
    }
}

/// <summary>Runs one output through a gateway whose fetch settings and simulator the test picks.</summary>
internal static class HostileOutput
{
    public static async Task<FetchOutcome> RunAsync(
        Action<SimulatorServer>? arrange = null,
        Dictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        Action<SimulatorOptions>? simulatorOptions = null)
    {
        // Quick runs, polled quickly: these tests are about the fetch, not the tracking cadence.
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o =>
        {
            o.QueuedSeconds = 0;
            o.RunningSeconds = 0.2;
            o.MinPollIntervalSeconds = 0;
            simulatorOptions?.Invoke(o);
        });
        arrange?.Invoke(simulator);
        var all = new Dictionary<string, string?>(settings ?? []) { ["Tracking:PollInterval"] = "00:00:00.300" };
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, all) { TestServices = services };
        using var client = gateway.CreateCallerClient();
        using var upstream = new SimulatorClient(simulator);

        var run = await OutputTestKit.FailedRunAsync(client, "hostile " + Guid.NewGuid());

        using var output = await client.GetAsync($"/runs/{run["id"]!.GetValue<string>()}/output");
        Assert.Equal(HttpStatusCode.NotFound, output.StatusCode);
        return new FetchOutcome(run, await upstream.RouteCountAsync("GET /cdn/outputs"), gateway.Logs);
    }
}

/// <summary>A TCP listener that counts connections: proof that nothing connected to an address the gateway must refuse.</summary>
internal sealed class ConnectionCounter : IDisposable
{
    private readonly TcpListener _listener;
    private int _accepted;

    public ConnectionCounter(IPAddress address)
    {
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted => Volatile.Read(ref _accepted);

    public void Dispose() => _listener.Stop();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _accepted);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>A DNS stand-in: names the test maps resolve to its addresses, and every lookup is recorded.</summary>
internal sealed class FakeResolver(Dictionary<string, IPAddress[]> names) : IOutputHostResolver
{
    public ConcurrentQueue<string> Lookups { get; } = new();

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Lookups.Enqueue(host);
        return names.TryGetValue(host, out var addresses) ? Task.FromResult(addresses) : Dns.GetHostAddressesAsync(host, cancellationToken);
    }
}

/// <summary>
/// The SSRF tests assert on the gateway's log, and the gateway's Serilog setup writes through the static logger, which the
/// most recently built host owns; so these run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SafeFetchingCollection
{
    public const string Name = "safe fetching";
}

/// <summary>SSRF matrix, addresses and hosts: every output URL below is refused, the run fails clearly, and nothing connects to the forbidden address.</summary>
[Collection(SafeFetchingCollection.Name)]
public sealed class SafeFetchingAddressTests
{
    [Fact]
    public async Task Loopback_127_0_0_1_Is_Refused_At_Connect_When_Its_Network_Is_Not_Allowed()
    {
        var outcome = await HostileOutput.RunAsync(settings: new() { ["Outputs:AllowedNetworks:0"] = "" });

        outcome.AssertRefused("internal address");
        Assert.Equal(0, outcome.CdnCalls);
    }

    [Fact]
    public async Task Ipv6_Loopback_Is_Refused_At_Connect()
    {
        using var target = new ConnectionCounter(IPAddress.IPv6Loopback);

        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.PublicBaseUrl = $"http://[::1]:{target.Port}",
            new() { ["Outputs:AllowedHosts:1"] = "::1", ["Outputs:InsecureHttpHosts:1"] = "::1" });

        outcome.AssertRefused("resolves to ::1");
        Assert.Equal(0, target.Accepted);
    }

    [Fact]
    public async Task The_Cloud_Metadata_Address_Is_Refused_Even_When_Its_Host_Is_Allowed()
    {
        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.PublicBaseUrl = "http://169.254.169.254",
            new() { ["Outputs:AllowedHosts:1"] = "169.254.169.254", ["Outputs:InsecureHttpHosts:1"] = "169.254.169.254" });

        outcome.AssertRefused("resolves to 169.254.169.254");
        Assert.DoesNotContain("169.254", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Name_Resolving_To_A_Private_10_Address_Among_Allowed_Ones_Is_Refused_Before_Any_Connection()
    {
        var resolver = new FakeResolver(new() { ["cdn.kimara.test"] = [IPAddress.Loopback, IPAddress.Parse("10.1.2.3")] });

        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.PublicBaseUrl = $"http://cdn.kimara.test:{sim.BaseAddress.Port}",
            new() { ["Outputs:AllowedHosts:1"] = "cdn.kimara.test", ["Outputs:InsecureHttpHosts:1"] = "cdn.kimara.test" },
            services => services.AddSingleton<IOutputHostResolver>(resolver));

        outcome.AssertRefused("resolves to 10.1.2.3");
        Assert.Contains("cdn.kimara.test", resolver.Lookups);
        Assert.Equal(0, outcome.CdnCalls);
    }

    [Fact]
    public async Task A_Host_Not_On_The_Allow_List_Is_Never_Contacted()
    {
        var outcome = await HostileOutput.RunAsync(sim => sim.Options.PublicBaseUrl = $"http://localhost:{sim.BaseAddress.Port}");

        outcome.AssertRefused("not in Outputs:AllowedHosts");
        Assert.Equal(0, outcome.CdnCalls);
    }

    [Fact]
    public async Task Plain_Http_To_A_Host_Allowed_Over_Https_Only_Is_Never_Sent()
    {
        var outcome = await HostileOutput.RunAsync(settings: new() { ["Outputs:InsecureHttpHosts:0"] = "" });

        outcome.AssertRefused("allowed over https only");
        Assert.Equal(0, outcome.CdnCalls);
    }

    [Fact]
    public async Task A_Redirect_To_The_Metadata_Address_Is_Not_Followed()
    {
        var outcome = await HostileOutput.RunAsync(sim => sim.Options.Faults.OutputRedirectTo = "http://169.254.169.254/latest/meta-data/iam/");

        outcome.AssertRefused("Redirected: The output host '169.254.169.254' is not in Outputs:AllowedHosts");
        Assert.Equal(1, outcome.CdnCalls);
    }

    [Fact]
    public async Task A_Redirect_To_An_Allowed_Name_That_Resolves_Internally_Is_Refused_At_Connect()
    {
        using var target = new ConnectionCounter(IPAddress.IPv6Loopback);
        var resolver = new FakeResolver(new() { ["images.kimara.test"] = [IPAddress.IPv6Loopback] });

        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.Faults.OutputRedirectTo = $"http://images.kimara.test:{target.Port}/out.png",
            new() { ["Outputs:AllowedHosts:1"] = "*.kimara.test", ["Outputs:InsecureHttpHosts:1"] = "images.kimara.test" },
            services => services.AddSingleton<IOutputHostResolver>(resolver));

        outcome.AssertRefused("resolves to ::1");
        Assert.Equal(0, target.Accepted);
    }
}

/// <summary>SSRF matrix, what comes back: too big, too slow, the wrong type, or an error; refused without echoing the upstream.</summary>
[Collection(SafeFetchingCollection.Name)]
public sealed class SafeFetchingContentTests
{
    [Fact]
    public async Task A_Body_Over_The_Byte_Cap_Fails_The_Run()
    {
        var outcome = await HostileOutput.RunAsync(
            settings: new() { ["Outputs:MaxBytes"] = "10000" },
            simulatorOptions: o => o.OutputBytes = 50_000);

        outcome.AssertRefused("larger than Outputs:MaxBytes");
        Assert.Contains("larger than the gateway accepts", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Chunked_Body_Without_Content_Length_Is_Cut_Off_At_The_Byte_Cap()
    {
        await using var cdn = await RangeCdn.StartAsync(chunked: true);

        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.PublicBaseUrl = cdn.BaseAddress.ToString(),
            new() { ["Outputs:MaxBytes"] = "10000" });

        outcome.AssertRefused("larger than Outputs:MaxBytes");
        Assert.Equal(0, outcome.CdnCalls);
    }

    [Fact]
    public async Task A_Slow_Drip_Body_Is_Cut_Off_At_The_Fetch_Timeout()
    {
        var outcome = await HostileOutput.RunAsync(
            sim => sim.Options.Faults.OutputDripDelayMs = 250,
            new() { ["Outputs:FetchTimeout"] = "00:00:01" },
            simulatorOptions: o => o.OutputBytes = 400_000);

        outcome.AssertRefused("did not finish within Outputs:FetchTimeout");
        Assert.Contains("too slow", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Content_Type_Not_On_The_List_Fails_The_Run()
    {
        var outcome = await HostileOutput.RunAsync(sim => sim.Options.Faults.OutputContentType = "text/html");

        outcome.AssertRefused("content type 'text/html'");
        Assert.Contains("content type", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Expired_Kimara_Link_Fails_The_Run_Without_Echoing_The_Upstream_Error_Body()
    {
        // A negative lifetime hands out links that have already expired.
        var outcome = await HostileOutput.RunAsync(simulatorOptions: o => o.OutputUrlLifetimeSeconds = -10);

        outcome.AssertRefused("answered 403");
        Assert.DoesNotContain("The link has expired", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_Errors_Are_Retried_Then_Fail_The_Run_Without_Their_Body()
    {
        var outcome = await HostileOutput.RunAsync(
            sim =>
            {
                sim.Options.Faults.Target = "output";
                sim.Options.Faults.ErrorRate = 1;
                sim.Options.Faults.ErrorStatus = 500;
            },
            new() { ["Outputs:GiveUpAfter"] = "00:00:02" });

        outcome.AssertRefused("answered 500");
        Assert.True(outcome.CdnCalls >= 2, "A 500 from the CDN must be retried before the run fails.");
        Assert.DoesNotContain("Simulated", outcome.Error, StringComparison.Ordinal);
    }
}
