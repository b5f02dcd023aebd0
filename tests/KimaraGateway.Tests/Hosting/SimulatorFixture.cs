using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Hosting;

/// <summary>One simulator on a loopback port for a test class whose tests each start their own gateway.</summary>
public sealed class SimulatorFixture : IAsyncLifetime
{
    public SimulatorServer Simulator { get; private set; } = null!;

    public async Task InitializeAsync() => Simulator = await GatewayFixture.StartSimulatorAsync();

    public async Task DisposeAsync() => await Simulator.DisposeAsync();
}
