using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Callers;

/// <summary>BOLA: another caller's run is a 404 on every run route, indistinguishable from a run that does not exist.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OwnershipTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Every_Run_Route_Answers_404_To_Another_Caller_Exactly_As_For_A_Missing_Run()
    {
        using var alice = fixture.Gateway.CreateCallerClient(TestCallers.Alice);
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        Assert.Equal("completed", (await alice.WaitForTerminalAsync(id))["status"]!.GetValue<string>());
        var missing = KimaraGateway.Runs.RunIds.New();

        var routes = RunRoutes();
        Assert.Contains("/runs/{id}", routes);
        Assert.Contains("/runs/{id}/events", routes);
        Assert.Contains("/runs/{id}/output", routes);

        foreach (var route in routes)
        {
            using var owner = await GetAsync(alice, route, id);
            using var foreign = await GetAsync(bob, route, id);
            using var absent = await GetAsync(bob, route, missing);

            Assert.True(owner.StatusCode == HttpStatusCode.OK, $"{route}: the owner got {owner.StatusCode}");
            Assert.True(foreign.StatusCode == HttpStatusCode.NotFound, $"{route}: another caller got {foreign.StatusCode}");
            Assert.Equal(HttpStatusCode.NotFound, absent.StatusCode);
            Assert.Equal(await CodeAsync(absent), await CodeAsync(foreign));
            Assert.Equal(absent.Content.Headers.ContentType?.MediaType, foreign.Content.Headers.ContentType?.MediaType);
            Assert.False(foreign.Headers.Contains("ETag"), $"{route}: an ETag of another caller's run leaked");
        }
    }

    [Fact]
    public async Task Run_History_Lists_Only_The_Callers_Own_Runs_And_Another_Callers_Only_For_Admin()
    {
        using var alice = fixture.Gateway.CreateCallerClient(TestCallers.Alice);
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        using var admin = fixture.Gateway.CreateCallerClient(TestCallers.Admin);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        var bobs = await bob.GetFromJsonAsync<JsonObject>("/runs?limit=100");
        using var bobAsksForAlice = await bob.GetAsync($"/runs?caller={TestCallers.Alice}");
        var adminSees = await admin.GetFromJsonAsync<JsonObject>($"/runs?caller={TestCallers.Alice}&limit=100");

        Assert.DoesNotContain(bobs!["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == id);
        Assert.Equal(HttpStatusCode.Forbidden, bobAsksForAlice.StatusCode);
        Assert.Contains(adminSees!["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task Admin_Reads_Another_Callers_Run_By_Id_As_404_Too()
    {
        using var alice = fixture.Gateway.CreateCallerClient(TestCallers.Alice);
        using var admin = fixture.Gateway.CreateCallerClient(TestCallers.Admin);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var response = await admin.GetAsync($"/runs/{id}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Every GET route of one run the gateway maps, so a route added later is covered without editing this test.</summary>
    private List<string> RunRoutes() =>
    [
        .. fixture.Gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.TrimStart('/').StartsWith("runs/{id}", StringComparison.Ordinal))
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Distinct(),
    ];

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string route, string id) =>
        client.GetAsync(route.Replace("{id}", id, StringComparison.Ordinal), HttpCompletionOption.ResponseHeadersRead);

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())?["code"]?.GetValue<string>();
}
