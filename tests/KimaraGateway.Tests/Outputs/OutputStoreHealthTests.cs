using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Outputs;

/// <summary>/health/ready includes the output store: healthy while its folder is writable, 503 once it cannot be written.</summary>
public sealed class OutputStoreHealthTests
{
    [Fact]
    public async Task Readiness_Follows_Whether_The_Output_Folder_Can_Be_Written()
    {
        await using var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null);
        using var client = gateway.CreateCallerClient(caller: null);

        var before = await ReadinessAsync(client);
        // The volume goes away under the running gateway: a regular file now stands where the folder was, which no one
        // (root included) can write below.
        Directory.Delete(gateway.OutputsRoot, recursive: true);
        await File.WriteAllTextAsync(gateway.OutputsRoot, "not a folder");
        try
        {
            var after = await ReadinessAsync(client);

            Assert.Equal((HttpStatusCode.OK, "healthy"), before);
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "unhealthy"), after);
        }
        finally
        {
            File.Delete(gateway.OutputsRoot);
        }
    }

    private static async Task<(HttpStatusCode, string)> ReadinessAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health/ready");
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (response.StatusCode, body["checks"]!["output-store"]!["status"]!.GetValue<string>());
    }
}
