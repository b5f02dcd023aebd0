using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Runs;

public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Kimara:ApiKey", "", "Kimara:ApiKey")]
    [InlineData("Tracking:PollInterval", "00:10:00", "PollInterval")]
    [InlineData("Auth:ApiKeys:0:KeyHash", "not-a-hash", "KeyHash")]
    [InlineData("Runs:KeyPrefix", "bad prefix with spaces", "KeyPrefix")]
    public async Task Startup_Fails_With_A_Message_Naming_The_Bad_Key(string key, string value, string named)
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => gateway.Server);

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
