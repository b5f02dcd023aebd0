using System.Net.Http.Headers;
using Kimara.Simulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
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

    public string KeyPrefix { get; } = $"t{Guid.NewGuid():N}:"[..13];

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
        };
        foreach (var (key, value) in TestCallers.Configuration())
        {
            values[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        // Program reads some keys (ConnectionStrings:Redis) while it registers services, before app configuration
        // sources added by the factory apply; host settings are visible by then, so every value is one as well.
        foreach (var (key, value) in values)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(values));
        builder.ConfigureServices(services => services.AddSingleton<ILogEventSink>(Logs));
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
