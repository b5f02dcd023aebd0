using System.Net;
using Kimara.Simulator;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// The gateway under test on real Kestrel (a loopback port of its own), for tests about addresses, proxies, browsers and
/// replicas: several replicas on one Redis and one simulator share a <c>keyPrefix</c>.
/// </summary>
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

    public IServiceProvider Services => Factory.Services;

    public static KestrelGateway Start(SimulatorServer simulator, string? redis, IDictionary<string, string?>? settings = null, string? keyPrefix = null)
    {
        var values = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        if (keyPrefix is not null)
        {
            values["Runs:KeyPrefix"] = keyPrefix;
        }

        var factory = new GatewayFactory(simulator, redis, values);
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
