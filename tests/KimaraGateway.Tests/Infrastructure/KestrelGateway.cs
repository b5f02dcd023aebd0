using Kimara.Simulator;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// A gateway replica on real Kestrel (a loopback port of its own), for tests about processes: several replicas on one
/// Redis and one simulator, a replica going away. Replicas of one deployment share a key prefix.
/// </summary>
public sealed class KestrelGateway : IAsyncDisposable
{
    private readonly GatewayFactory _factory;
    private bool _disposed;

    private KestrelGateway(GatewayFactory factory) => _factory = factory;

    public GatewayFactory Factory => _factory;

    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _factory.Services;

    public static KestrelGateway Start(SimulatorServer simulator, string redis, string keyPrefix, IDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Runs:KeyPrefix"] = keyPrefix };
        var factory = new GatewayFactory(simulator, redis, values);
        factory.UseKestrel(0);
        factory.StartServer();
        var gateway = new KestrelGateway(factory);
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        gateway.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        return gateway;
    }

    /// <summary>A real-socket client for <paramref name="caller"/>, scanned for the Kimara key like every test client.</summary>
    public HttpClient CreateCallerClient(string caller = TestCallers.Alice)
    {
        var handler = new SecretLeakCheck(_factory.Simulator.ApiKey, _factory.Logs) { InnerHandler = new SocketsHttpHandler { MaxConnectionsPerServer = 256 } };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestCallers.KeyOf(caller));
        return client;
    }

    /// <summary>Stops the replica (its tracker, its event streams, its port); safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _factory.DisposeAsync();
    }
}
