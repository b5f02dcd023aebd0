using Microsoft.Extensions.DependencyInjection;

namespace Kimara.Simulator.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task Build_Binds_The_Simulator_Section_Then_Applies_Configure()
    {
        await using var app = SimulatorApp.Build(
            ["--Simulator:ApiKey=from-args", "--Simulator:QueuedSeconds=5", "--Simulator:Faults:ErrorStatus=500"],
            o => o.RunningSeconds = 11);

        var options = app.Services.GetRequiredService<SimulatorOptions>();

        Assert.Equal("from-args", options.ApiKey);
        Assert.Equal(5, options.QueuedSeconds);
        Assert.Equal(11, options.RunningSeconds);
        Assert.Equal(500, options.Faults.ErrorStatus);
        Assert.Same(TimeProvider.System, app.Services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public async Task Start_Listens_On_A_Free_Loopback_Port_And_Exposes_Live_Options()
    {
        await using var server = await SimulatorApp.StartAsync(o => o.ApiKey = "k");

        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        Assert.NotEqual(0, server.BaseAddress.Port);
        Assert.EndsWith("/", server.BaseAddress.AbsoluteUri);
        Assert.Equal("k", server.ApiKey);
        Assert.Same(server.Options, server.Services.GetRequiredService<SimulatorOptions>());
    }
}
