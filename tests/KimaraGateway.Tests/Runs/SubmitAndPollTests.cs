using System.Net;
using System.Net.Http.Json;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Runs;

[Collection(GatewayCollection.Name)]
public sealed class SubmitAndPollTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Documented_Flow_Submits_Polls_And_Completes_With_A_Gateway_Output_Url()
    {
        using var client = fixture.Gateway.CreateCallerClient();

        using var submitted = await client.SubmitAsync("text-to-image", new { prompt = "a beautiful landscape at sunset" });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var run = (await submitted.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!;
        var id = run["id"]!.GetValue<string>();
        Assert.Equal("queued", run["status"]!.GetValue<string>());
        Assert.Equal($"/runs/{id}", submitted.Headers.Location!.AbsolutePath);

        var done = await client.WaitForTerminalAsync(id);

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var outputUrl = new Uri(done["output_url"]!.GetValue<string>());
        Assert.NotEqual(fixture.Simulator.BaseAddress.Authority, outputUrl.Authority);
        Assert.Null(done["error"]);
    }

    [Fact]
    public async Task A_Failing_Run_Surfaces_Failed_With_Its_Error()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var run = await client.SubmitTextToImageAsync("this one will [fail]");

        var done = await client.WaitForTerminalAsync(run["id"]!.GetValue<string>());

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Contains("simulated failure", done["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("run_failed", done["error_code"]!.GetValue<string>());
        Assert.Null(done["output_url"]);
    }
}
