using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Apps;

/// <summary>An inconsistent catalogue stops the gateway at startup with a message naming the App and the field.</summary>
public sealed class CatalogueStartupTests
{
    public static TheoryData<Dictionary<string, string?>, string[]> Catalogues => new()
    {
        {
            new() { ["Apps:Catalogue:0:Fields:2:Default"] = "200" },
            ["Apps:Catalogue:0 (text-to-image)", "'steps'", "Default", "at most 100"]
        },
        {
            new() { ["Apps:Catalogue:0:Fields:4:Default"] = "2:1" },
            ["Apps:Catalogue:0 (text-to-image)", "'aspect_ratio'", "must be one of"]
        },
        {
            new() { ["Apps:Catalogue:1:Fields:2:Type"] = "float" },
            ["Apps:Catalogue:1 (image-to-image)", "'strength'", "unknown Type 'float'"]
        },
        {
            new() { ["Apps:Catalogue:2:Id"] = "text-to-image" },
            ["Apps:Catalogue:2 (text-to-image)", "used by another App"]
        },
        {
            new() { ["Apps:Catalogue:1:Fields:2:Name"] = "image" },
            ["Apps:Catalogue:1 (image-to-image)", "'image'", "used by another field"]
        },
        {
            new() { ["Apps:Catalogue:0:Fields:2:Min"] = "50", ["Apps:Catalogue:0:Fields:2:Max"] = "10" },
            ["Apps:Catalogue:0 (text-to-image)", "'steps'", "Min (50) is greater than Max (10)"]
        },
        {
            new() { ["Apps:Catalogue:0:Fields:0:Example"] = "" },
            ["Apps:Catalogue:0 (text-to-image)", "'prompt'", "Example", "1 to 2000 characters"]
        },
        {
            new() { ["Apps:Catalogue:2:Fields:0:ContentTypes:0"] = "image/gif" },
            ["Apps:Catalogue:2 (upscaler)", "'image'", "image/gif"]
        },
        {
            new() { ["Apps:Catalogue:0:Fields:3:Max"] = "99999999999" },
            ["Apps:Catalogue:0 (text-to-image)", "'seed'", "Kimara's range"]
        },
    };

    [Theory]
    [MemberData(nameof(Catalogues))]
    public async Task Startup_Fails_Naming_The_App_And_Field_Of_An_Inconsistent_Catalogue(Dictionary<string, string?> settings, string[] named)
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, settings);

        var error = Assert.ThrowsAny<OptionsValidationException>(() => gateway.Server);

        foreach (var part in named)
        {
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_Sample_Catalogue_Starts()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null);

        Assert.NotNull(gateway.Server);
    }
}
