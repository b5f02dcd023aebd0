using KimaraGateway.Hosting;
using KimaraGateway.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>A Kimara client with no upstream behind it, for unit tests of run components that must not reach Kimara.</summary>
public static class DetachedKimaraClient
{
    public static KimaraClient Create(TimeProvider time)
    {
        var services = new ServiceCollection().BuildServiceProvider();
        return new KimaraClient(services, TestMetrics.Detached(), new KimaraReachability(time), time, NullLogger<KimaraClient>.Instance);
    }
}
