using System.Net;
using KimaraGateway.Outputs;
using KimaraGateway.Tests.Infrastructure;
using KimaraGateway.Upstream;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Outputs;

public sealed class OutputFetchPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.5.4")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.100.100.200")]
    [InlineData("0.0.0.0")]
    [InlineData("fd00:ec2::254")]
    [InlineData("fe80::1")]
    [InlineData("224.0.0.1")]
    public void Internal_Addresses_Are_Refused(string address)
    {
        var policy = Policy(new OutputsOptions { AllowedHosts = ["cdn.kimara.ai"] });

        Assert.NotNull(policy.CheckAddress("cdn.kimara.ai", 443, IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("2606:4700::6810:84e5")]
    public void Public_Addresses_Are_Allowed(string address)
    {
        var policy = Policy(new OutputsOptions { AllowedHosts = ["cdn.kimara.ai"] });

        Assert.Null(policy.CheckAddress("cdn.kimara.ai", 443, IPAddress.Parse(address)));
    }

    [Fact]
    public void An_Allowed_Network_Opens_Exactly_That_Range()
    {
        var policy = Policy(new OutputsOptions { AllowedHosts = ["cdn.internal"], AllowedNetworks = ["10.20.0.0/16"] });

        Assert.Null(policy.CheckAddress("cdn.internal", 443, IPAddress.Parse("10.20.3.4")));
        Assert.NotNull(policy.CheckAddress("cdn.internal", 443, IPAddress.Parse("10.21.3.4")));
    }

    [Theory]
    [InlineData("https://cdn.kimara.ai/o/1.png", true)]
    [InlineData("https://eu.cdn.kimara.ai/o/1.png", true)]
    [InlineData("https://kimara.ai.evil.example/o/1.png", false)]
    [InlineData("https://evilcdn.kimara.ai.example/o/1.png", false)]
    [InlineData("http://cdn.kimara.ai/o/1.png", false)]
    [InlineData("https://user:pass@cdn.kimara.ai/o/1.png", false)]
    [InlineData("ftp://cdn.kimara.ai/o/1.png", false)]
    [InlineData("https://other.example/o/1.png", false)]
    public void Urls_Must_Be_Https_To_An_Allowed_Host(string url, bool allowed)
    {
        var policy = Policy(new OutputsOptions { AllowedHosts = ["cdn.kimara.ai", "*.cdn.kimara.ai"] });

        Assert.Equal(allowed, policy.CheckUrl(new Uri(url)) is null);
    }

    [Fact]
    public async Task In_Development_The_In_Process_Simulator_Is_Trusted_And_Nothing_Else_On_Loopback()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        var endpoint = new KimaraEndpoint();
        endpoint.Resolve(simulator.BaseAddress, simulator.ApiKey);
        var policy = new OutputFetchPolicy(Options.Create(new OutputsOptions()), Options.Create(new KimaraOptions()), endpoint, new Environment("Development"));
        var port = simulator.BaseAddress.Port;

        Assert.Null(policy.CheckUrl(new Uri($"http://127.0.0.1:{port}/cdn/outputs/x.png")));
        Assert.Null(policy.CheckAddress("127.0.0.1", port, IPAddress.Loopback));
        Assert.NotNull(policy.CheckUrl(new Uri($"http://127.0.0.1:{port + 1}/cdn/outputs/x.png")));
        Assert.NotNull(policy.CheckAddress("127.0.0.1", port + 1, IPAddress.Loopback));
    }

    [Fact]
    public async Task Startup_Fails_Naming_The_Key_Of_A_Bad_Output_Setting()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, new Dictionary<string, string?>
        {
            ["Outputs:AllowedNetworks:1"] = "not-a-network",
            ["Outputs:Links:SigningKey"] = "short",
        });

        var error = Assert.Throws<OptionsValidationException>(() => gateway.Server);

        Assert.Contains("Outputs:AllowedNetworks", error.Message, StringComparison.Ordinal);
        Assert.Contains("Outputs:Links:SigningKey", error.Message, StringComparison.Ordinal);
    }

    private static OutputFetchPolicy Policy(OutputsOptions options) =>
        new(Options.Create(options), Options.Create(new KimaraOptions()), new KimaraEndpoint(), new Environment("Production"));

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = Path.GetTempPath();

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
