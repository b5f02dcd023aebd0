using System.Net;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Hosting;

/// <summary>The gateway under test on real Kestrel (a loopback port of its own), for tests about addresses, proxies and browsers.</summary>
public sealed class KestrelGateway : IAsyncDisposable
{
    private KestrelGateway(GatewayFactory factory, Uri address)
    {
        Factory = factory;
        Address = address;
    }

    public GatewayFactory Factory { get; }

    public Uri Address { get; }

    public LogCapture Logs => Factory.Logs;

    public static KestrelGateway Start(SimulatorServer simulator, string? redis, IDictionary<string, string?>? settings = null)
    {
        var factory = new GatewayFactory(simulator, redis, settings);
        factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new KestrelGateway(factory, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>A client from 127.0.0.1 (or <paramref name="source"/>), authenticated as <paramref name="caller"/> unless null.</summary>
    public HttpClient CreateClient(string? caller = TestCallers.Alice, IPAddress? source = null, Uri? baseAddress = null) =>
        LoopbackClients.Create(baseAddress ?? Address, source ?? IPAddress.Loopback, Factory.Simulator.ApiKey, Logs,
            caller is null ? null : TestCallers.KeyOf(caller));

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

public static class LogCaptureExtensions
{
    /// <summary>The request log is written once the response has been sent, so a test that just read it waits briefly for the line.</summary>
    public static async Task<bool> WaitForAsync(this LogCapture logs, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Contains(text))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
