using System.Net.Http.Headers;
using Kimara.Simulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// A gateway under test against a real simulator on a loopback port, with Redis (real redis-server, own key prefix)
/// or the in-memory store, its logs captured and every client's responses scanned for the Kimara key.
/// </summary>
public sealed class GatewayFactory(SimulatorServer simulator, string? redis, IDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public LogCapture Logs { get; } = new();

    public SimulatorServer Simulator => simulator;

    /// <summary>Replaces gateway services after the app registered its own (e.g. a fake DNS for output hosts).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    public string KeyPrefix { get; } = $"t{Guid.NewGuid():N}:"[..13];

    /// <summary>This gateway's own output folder (unless settings name another), deleted with the factory.</summary>
    public string OutputsRoot { get; } = Path.Combine(Path.GetTempPath(), "kgw-outputs-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The key output links are signed with (unless settings name another).</summary>
    public string LinkSigningKey { get; } = "test-link-key-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Output fetching as every test gateway needs it: the simulator is on 127.0.0.1 over http, so that host, plain http for
    /// it and the loopback address are allowed explicitly (production allows none of them).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> LoopbackOutputs()
    {
        yield return new("Outputs:AllowedHosts:0", "127.0.0.1");
        yield return new("Outputs:InsecureHttpHosts:0", "127.0.0.1");
        yield return new("Outputs:AllowedNetworks:0", "127.0.0.1/32");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (settings?.ContainsKey("Outputs:FileSystem:Root") != true && Directory.Exists(OutputsRoot))
        {
            Directory.Delete(OutputsRoot, recursive: true);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        var values = new Dictionary<string, string?>
        {
            ["Kimara:BaseUrl"] = simulator.BaseAddress.ToString(),
            ["Kimara:ApiKey"] = simulator.ApiKey,
            ["Runs:KeyPrefix"] = KeyPrefix,
            ["ConnectionStrings:Redis"] = redis,
            ["Serilog:MinimumLevel:Default"] = "Debug",
            ["Outputs:FileSystem:Root"] = OutputsRoot,
            ["Outputs:Links:SigningKey"] = LinkSigningKey,
        };
        foreach (var (key, value) in LoopbackOutputs().Concat(TestCallers.Configuration()))
        {
            values[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        // With the minimal hosting model only host settings (UseSetting) are visible while Program.cs registers services,
        // where e.g. Redis versus the in-memory store is decided; the app configuration source then wins over appsettings.json.
        foreach (var (key, value) in values)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(values));

        builder.ConfigureServices(services => services.AddSingleton<ILogEventSink>(Logs));
        if (TestServices is { } testServices)
        {
            builder.ConfigureTestServices(testServices);
        }
    }

    /// <summary>A client authenticated as <paramref name="caller"/> (or anonymous when null), scanned for secret leaks.</summary>
    public HttpClient CreateCallerClient(string? caller = TestCallers.Alice)
    {
        var client = CreateDefaultClient(new SecretLeakCheck(simulator.ApiKey, Logs));
        if (caller is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestCallers.KeyOf(caller));
        }

        return client;
    }
}
