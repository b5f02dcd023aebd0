using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Callers;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Apps;

/// <summary>
/// A gateway whose catalogue lets only bob run image-to-image, and with a key (carol's) that lists only the upscaler.
/// </summary>
public sealed class AppAccessFixture : GatewayFixture
{
    public const string Carol = "carol";

    public static string CarolKey => TestCallers.KeyOf(Carol);

    protected override bool UseRedis => false;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Apps:Catalogue:1:AllowedCallers:0"] = TestCallers.Bob,
        ["Auth:ApiKeys:10:CallerId"] = Carol,
        ["Auth:ApiKeys:10:KeyHash"] = ApiKeyAuthenticationHandler.HashKey(CarolKey),
        ["Auth:ApiKeys:10:Apps:0"] = "upscaler",
    };

    public HttpClient ClientFor(string caller)
    {
        var client = Gateway.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestCallers.KeyOf(caller));
        return client;
    }
}

/// <summary>Who may run an App: the catalogue's allowed callers and the caller key's listed Apps; anyone else sees a 404.</summary>
public sealed class AppAccessTests(AppAccessFixture fixture) : IClassFixture<AppAccessFixture>
{
    private static readonly JsonObject UpscalerInputs = new() { ["image"] = TestImages.DataUri(TestImages.Png(8, 8)) };

    public static TheoryData<string, string, bool> Access => new()
    {
        { TestCallers.Alice, "text-to-image", true },
        { TestCallers.Alice, "image-to-image", false },
        { TestCallers.Bob, "image-to-image", true },
        { AppAccessFixture.Carol, "upscaler", true },
        { AppAccessFixture.Carol, "text-to-image", false },
        { AppAccessFixture.Carol, "image-to-image", false },
    };

    [Theory]
    [MemberData(nameof(Access))]
    public async Task Get_App_Is_404_For_A_Caller_Not_Allowed_To_Run_It_Exactly_Like_An_Unknown_App(string caller, string appId, bool allowed)
    {
        using var client = fixture.ClientFor(caller);

        using var response = await client.GetAsync($"/apps/{appId}");

        if (allowed)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(appId, (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        }
        else
        {
            using var unknown = await client.GetAsync("/apps/no-such-app");
            var problem = await AppsHttp.AssertProblemAsync(response, HttpStatusCode.NotFound, "app_not_found");
            var unknownProblem = await AppsHttp.AssertProblemAsync(unknown, HttpStatusCode.NotFound, "app_not_found");
            Assert.Equal(unknownProblem["detail"]!.GetValue<string>().Replace("no-such-app", appId, StringComparison.Ordinal), problem["detail"]!.GetValue<string>());
        }
    }

    [Theory]
    [MemberData(nameof(Access))]
    public async Task Submitting_An_App_The_Caller_May_Not_Run_Is_404_And_Nothing_Reaches_Kimara(string caller, string appId, bool allowed)
    {
        using var client = fixture.ClientFor(caller);
        var inputs = appId == "text-to-image" ? new JsonObject { ["prompt"] = "x" } : UpscalerInputs.DeepClone().AsObject();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var viaRuns = await client.PostRunAsync(appId, inputs);
        using var viaApp = await client.PostJsonAsync(inputs.ToJsonString(), $"/apps/{appId}/runs");

        if (allowed)
        {
            await AppsHttp.AssertAcceptedAsync(viaRuns);
            await AppsHttp.AssertAcceptedAsync(viaApp);
            Assert.Equal(postsBefore + 2, await fixture.Upstream.PostCountAsync());
        }
        else
        {
            await AppsHttp.AssertProblemAsync(viaRuns, HttpStatusCode.NotFound, "app_not_found");
            await AppsHttp.AssertProblemAsync(viaApp, HttpStatusCode.NotFound, "app_not_found");
            Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
        }
    }

    [Theory]
    [InlineData(TestCallers.Alice, new[] { "text-to-image", "upscaler" })]
    [InlineData(TestCallers.Bob, new[] { "text-to-image", "image-to-image", "upscaler" })]
    [InlineData(AppAccessFixture.Carol, new[] { "upscaler" })]
    public async Task Get_Apps_Lists_Only_The_Apps_The_Caller_May_Run(string caller, string[] expected)
    {
        using var client = fixture.ClientFor(caller);

        var apps = (await client.GetFromJsonAsync<JsonObject>("/apps"))!;

        Assert.Equal(expected, apps["data"]!.AsArray().Select(a => a!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Get_Apps_Needs_A_Caller_Credential()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/apps");

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }
}
