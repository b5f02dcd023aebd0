using System.Diagnostics;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Hosting;

public sealed class HealthProbeTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Theory]
    [InlineData("/health/live", null, "http://127.0.0.1:8080/health/live")]
    [InlineData("/health/ready", "9000;9001", "http://127.0.0.1:9000/health/ready")]
    [InlineData("health/ready", "8081", "http://127.0.0.1:8081/health/ready")]
    [InlineData("http://10.1.2.3:5000/health/live", "8080", "http://10.1.2.3:5000/health/live")]
    public void Probe_Target_Is_This_Containers_Http_Port_Unless_A_Url_Is_Given(string target, string? httpPorts, string expected) =>
        Assert.Equal(new Uri(expected), HealthProbe.ResolveTarget(target, httpPorts));

    [Fact]
    public async Task Healthcheck_Switch_Exits_Zero_For_A_Live_Gateway_And_One_When_Nothing_Answers()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null);

        var healthy = await RunProbeAsync(new Uri(gateway.Address, "/health/live"));
        var nothing = await RunProbeAsync(new Uri($"http://127.0.0.1:{RedisServer.FreePort()}/health/live"));

        Assert.Equal(0, healthy);
        Assert.Equal(1, nothing);
    }

    /// <summary>Runs the built gateway with the switch, exactly as the Dockerfile's HEALTHCHECK does.</summary>
    private static async Task<int> RunProbeAsync(Uri url)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "KimaraGateway.dll"), HealthProbe.Switch, url.ToString() },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains(url.ToString(), await output, StringComparison.Ordinal);
        return process.ExitCode;
    }
}
