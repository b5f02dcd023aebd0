using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Runs;

[Collection(GatewayCollection.Name)]
public sealed class BadInputTests(GatewayFixture fixture)
{
    public static TheoryData<string, string, string?, HttpStatusCode, string> Bodies => new()
    {
        { "malformed json", "{\"app_id\": \"text-to-image\", \"inputs\": {", "application/json", HttpStatusCode.BadRequest, "malformed_request" },
        { "not an object", "[1,2,3]", "application/json", HttpStatusCode.BadRequest, "malformed_request" },
        { "missing app_id", "{\"inputs\": {\"prompt\": \"x\"}}", "application/json", HttpStatusCode.BadRequest, "validation_failed" },
        { "app_id not a string", "{\"app_id\": 42, \"inputs\": {}}", "application/json", HttpStatusCode.BadRequest, "validation_failed" },
        { "inputs not an object", "{\"app_id\": \"text-to-image\", \"inputs\": \"prompt\"}", "application/json", HttpStatusCode.BadRequest, "validation_failed" },
        { "unknown top-level field", "{\"app_id\": \"text-to-image\", \"inputs\": {}, \"callback\": \"x\"}", "application/json", HttpStatusCode.BadRequest, "validation_failed" },
        { "wrong content type", "app_id=text-to-image", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType, "unsupported_media_type" },
        { "no content type", "{\"app_id\": \"text-to-image\", \"inputs\": {}}", null, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type" },
        { "too deep", "{\"app_id\": \"text-to-image\", \"inputs\": " + new string('[', 200) + new string(']', 200) + "}", "application/json", HttpStatusCode.BadRequest, "malformed_request" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Post_Runs_Answers_A_Bad_Body_With_A_Problem_And_Sends_Nothing_Upstream(string name, string body, string? contentType, HttpStatusCode expected, string code)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        using var response = await client.PostAsync("/runs", content);

        Assert.True(expected == response.StatusCode, $"{name}: got {response.StatusCode}");
        await AssertProblemAsync(response, code);
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Fact]
    public async Task Post_Runs_Refuses_An_Oversized_Body_With_413()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        var huge = "{\"app_id\": \"text-to-image\", \"inputs\": {\"prompt\": \"" + new string('a', 64 * 1024 * 1024) + "\"}}";
        using var content = new StringContent(huge, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/runs", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertProblemAsync(response, "payload_too_large");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [InlineData("run_aaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("not-a-run-id")]
    [InlineData("run_%2e%2e%2fetc")]
    public async Task Get_Unknown_Run_Is_A_404_Problem(string id)
    {
        using var client = fixture.Gateway.CreateCallerClient();

        using var response = await client.GetAsync($"/runs/{id}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await AssertProblemAsync(response, "run_not_found");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    [InlineData(TestCallers.Revoked)]
    public async Task Bad_Credential_Is_A_401_Problem_With_WWW_Authenticate_And_Nothing_Upstream(string? credential)
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);
        if (credential is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential == TestCallers.Revoked ? TestCallers.KeyOf(credential) : credential);
        }

        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.SubmitAsync("text-to-image", new { prompt = "x" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
        await AssertProblemAsync(response, "unauthorized");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Fact]
    public async Task The_X_Api_Key_Header_Authenticates_Like_Bearer()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);
        client.DefaultRequestHeaders.Add("X-Api-Key", TestCallers.KeyOf(TestCallers.Alice));

        var run = await client.SubmitTextToImageAsync();

        Assert.Equal("queued", run["status"]!.GetValue<string>());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string code)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(code, problem["code"]?.GetValue<string>());
        Assert.Equal("urn:kimara-gateway:problem:" + code, problem["type"]?.GetValue<string>());
        Assert.Equal((int)response.StatusCode, problem["status"]!.GetValue<int>());
        Assert.DoesNotContain("   at ", problem.ToJsonString(), StringComparison.Ordinal);
    }
}
