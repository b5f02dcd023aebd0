using Kimara.Simulator;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// One simulator (real loopback port, short run durations) and one gateway on the shared redis-server, for a collection
/// of tests. Tests create their own runs and never depend on another test's.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    public SimulatorServer Simulator { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public SimulatorClient Upstream { get; private set; } = null!;

    protected virtual bool UseRedis => true;

    /// <summary>Configuration a derived fixture's gateway runs with, on top of the test defaults.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        Simulator = await StartSimulatorAsync();
        var redis = UseRedis ? (await RedisServer.Shared).ConnectionString : null;
        Gateway = new GatewayFactory(Simulator, redis, Settings);
        Upstream = new SimulatorClient(Simulator);
        _ = Gateway.Server;
    }

    public async Task DisposeAsync()
    {
        Upstream.Dispose();
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    /// <summary>A simulator with a key unique to this run (so leak scans are meaningful) and runs that last about two seconds.</summary>
    public static Task<SimulatorServer> StartSimulatorAsync(Action<SimulatorOptions>? configure = null) =>
        SimulatorApp.StartAsync(o =>
        {
            o.ApiKey = "sim-secret-" + Guid.NewGuid().ToString("N");
            o.QueuedSeconds = 0.5;
            o.RunningSeconds = 1.5;
            configure?.Invoke(o);
        });
}

/// <summary>The same gateway on the in-memory store (the zero-setup default).</summary>
public sealed class InMemoryGatewayFixture : GatewayFixture
{
    protected override bool UseRedis => false;
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
