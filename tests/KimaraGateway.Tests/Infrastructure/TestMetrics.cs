using System.Diagnostics.Metrics;
using KimaraGateway.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>Gateway instruments on a meter factory of their own, for unit tests that build run components by hand.</summary>
public static class TestMetrics
{
    public static GatewayMetrics Detached() =>
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
}
