using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Apps;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Apps;

/// <summary>A catalogue kept in the file <c>Apps:File</c> names replaces the inline one and is reloaded when the file changes.</summary>
public sealed class CatalogueFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kgw-apps-").FullName;

    private string FilePath => Path.Combine(_directory, "apps.json");

    [Fact]
    public async Task The_Catalogue_File_Replaces_The_Inline_Catalogue_And_A_Changed_File_Is_Reloaded_Without_Restart()
    {
        await WriteCatalogueAsync(("upscaler", "Upscaler v1"));
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, new Dictionary<string, string?> { ["Apps:File"] = FilePath });
        using var client = gateway.CreateCallerClient();
        Assert.Equal(["upscaler:Upscaler v1"], await ListAsync(client));

        await WriteCatalogueAsync(("upscaler", "Upscaler v2"), ("text-to-image", "Text to image"));

        Assert.Equal(["upscaler:Upscaler v2", "text-to-image:Text to image"], await WaitForChangeAsync(client, ["upscaler:Upscaler v1"]));
    }

    [Fact]
    public async Task A_Broken_Edit_Of_The_Catalogue_File_Keeps_The_Last_Good_Catalogue()
    {
        await WriteCatalogueAsync(("upscaler", "Upscaler v1"));
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, new Dictionary<string, string?> { ["Apps:File"] = FilePath });
        using var client = gateway.CreateCallerClient();
        _ = await ListAsync(client);

        await ReplaceFileAsync("""{ "Apps": { "Catalogue": [ { "Id": "upscaler", "Fields": [ { "Name": "image", "Type": "picture" } ] } ] } }""");
        var catalogue = gateway.Services.GetRequiredService<AppCatalogue>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (catalogue.RejectedChange.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Contains(catalogue.RejectedChange, e => e.Contains("unknown Type 'picture'", StringComparison.Ordinal));
        Assert.Equal(["upscaler:Upscaler v1"], await ListAsync(client));
    }

    [Fact]
    public async Task Startup_Fails_Naming_Apps_File_When_It_Cannot_Be_Read()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null, new Dictionary<string, string?> { ["Apps:File"] = Path.Combine(_directory, "missing.json") });

        var error = Assert.ThrowsAny<Microsoft.Extensions.Options.OptionsValidationException>(() => gateway.Server);

        Assert.Contains("Apps:File", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<string[]> ListAsync(HttpClient client)
    {
        var apps = (await client.GetFromJsonAsync<JsonObject>("/apps"))!["data"]!.AsArray();
        return [.. apps.Select(a => $"{a!["id"]}:{a["name"]}")];
    }

    /// <summary>Polls the gateway (not a clock) until the catalogue it serves differs, within a generous bound for the file watcher.</summary>
    private static async Task<string[]> WaitForChangeAsync(HttpClient client, string[] before)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var now = await ListAsync(client);
            if (!now.SequenceEqual(before) || DateTime.UtcNow > deadline)
            {
                return now;
            }

            await Task.Delay(100);
        }
    }

    private async Task WriteCatalogueAsync(params (string Id, string Name)[] apps)
    {
        var catalogue = new JsonArray();
        foreach (var (id, name) in apps)
        {
            catalogue.Add(new JsonObject
            {
                ["Id"] = id,
                ["Name"] = name,
                ["Fields"] = id == "upscaler"
                    ? new JsonArray(new JsonObject { ["Name"] = "image", ["Type"] = "image", ["Required"] = true })
                    : new JsonArray(new JsonObject { ["Name"] = "prompt", ["Type"] = "text", ["Required"] = true, ["Example"] = "a cat" }),
            });
        }

        await ReplaceFileAsync(new JsonObject { ["Apps"] = new JsonObject { ["Catalogue"] = catalogue } }.ToJsonString());
    }

    /// <summary>Replaces the file in one step, as an operator's tooling (or a ConfigMap update) does, so no reload sees it half-written.</summary>
    private async Task ReplaceFileAsync(string content)
    {
        var temporary = FilePath + ".tmp";
        await File.WriteAllTextAsync(temporary, content);
        File.Move(temporary, FilePath, overwrite: true);
    }
}
