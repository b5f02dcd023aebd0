using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Callers;

/// <summary>
/// One simulator and any number of gateways in front of it, each with its own settings; gateways made with the same
/// <c>sharedPrefix</c> share their Redis keys, as replicas of one deployment do.
/// </summary>
public sealed class CallerGateways : IAsyncLifetime
{
    private readonly List<GatewayFactory> _gateways = [];

    public SimulatorServer Simulator { get; private set; } = null!;

    public SimulatorClient Upstream { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await GatewayFixture.StartSimulatorAsync();
        Upstream = new SimulatorClient(Simulator);
    }

    public async Task<GatewayFactory> StartAsync(IEnumerable<KeyValuePair<string, string?>>? settings = null, bool redis = true, string? sharedPrefix = null)
    {
        var values = new Dictionary<string, string?>(settings ?? []);
        if (sharedPrefix is not null)
        {
            values["Runs:KeyPrefix"] = sharedPrefix;
        }

        var gateway = new GatewayFactory(Simulator, redis ? (await RedisServer.Shared).ConnectionString : null, values);
        lock (_gateways)
        {
            _gateways.Add(gateway);
        }

        _ = gateway.Server;
        return gateway;
    }

    /// <summary>A key prefix no other test uses.</summary>
    public static string NewPrefix() => $"c{Guid.NewGuid():N}"[..12] + ":";

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }

        Upstream.Dispose();
        await Simulator.DisposeAsync();
    }
}
