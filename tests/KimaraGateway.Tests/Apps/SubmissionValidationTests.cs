using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Apps;

/// <summary>
/// The sample Apps' rules through POST /runs: what is refused never reaches Kimara, and what is accepted reaches it as
/// the complete canonical input object (asserted on what the simulator received).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SubmissionValidationTests(GatewayFixture fixture)
{
    private static readonly string Png = TestImages.DataUri(TestImages.Png(16, 16));

    public static TheoryData<string, string, string?> Cases => new()
    {
        // app, inputs, the one field reported (null = accepted)
        { "text-to-image", """{"prompt":"x","steps":1}""", null },
        { "text-to-image", """{"prompt":"x","steps":0}""", "inputs.steps" },
        { "text-to-image", """{"prompt":"x","steps":100}""", null },
        { "text-to-image", """{"prompt":"x","steps":101}""", "inputs.steps" },
        { "text-to-image", """{"prompt":"x","steps":"20"}""", "inputs.steps" },
        { "text-to-image", """{"prompt":"x","steps":20.0}""", "inputs.steps" },
        { "text-to-image", """{"prompt":""}""", "inputs.prompt" },
        { "text-to-image", $$"""{"prompt":"{{new string('p', 2000)}}"}""", null },
        { "text-to-image", $$"""{"prompt":"{{new string('p', 2001)}}"}""", "inputs.prompt" },
        { "text-to-image", """{"prompt":42}""", "inputs.prompt" },
        { "text-to-image", """{"steps":20}""", "inputs.prompt" },
        { "text-to-image", """{"prompt":"x","seed":0}""", null },
        { "text-to-image", """{"prompt":"x","seed":-1}""", "inputs.seed" },
        { "text-to-image", """{"prompt":"x","seed":4294967295}""", null },
        { "text-to-image", """{"prompt":"x","seed":4294967296}""", "inputs.seed" },
        { "text-to-image", """{"prompt":"x","aspect_ratio":"16:9"}""", null },
        { "text-to-image", """{"prompt":"x","aspect_ratio":"2:1"}""", "inputs.aspect_ratio" },
        { "text-to-image", """{"prompt":"x","sampler":"euler"}""", "inputs.sampler" },
        { "text-to-image", """{"prompt":"x","negative_prompt":null}""", "inputs.negative_prompt" },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":0}""", null },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":-0.01}""", "inputs.strength" },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":1}""", null },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":1.01}""", "inputs.strength" },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":0.255}""", "inputs.strength" },
        { "image-to-image", $$"""{"image":"{{Png}}","strength":"0.5"}""", "inputs.strength" },
        { "image-to-image", """{"prompt":"oil"}""", "inputs.image" },
        { "upscaler", $$"""{"image":"{{TestImages.DataUri(TestImages.Png(2048, 2048))}}"}""", null },
        { "upscaler", $$"""{"image":"{{TestImages.DataUri(TestImages.Png(2049, 8))}}"}""", "inputs.image" },
        { "upscaler", """{"image":"data:image/png;base64,iVBORw0KGgo="}""", "inputs.image" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Post_Runs_Checks_Each_Sample_App_Input_And_Sends_Only_Valid_Ones_Upstream(string appId, string inputs, string? field)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.PostRunAsync(appId, JsonNode.Parse(inputs)!.AsObject());

        if (field is null)
        {
            await AppsHttp.AssertAcceptedAsync(response);
            Assert.Equal(postsBefore + 1, await fixture.Upstream.PostCountAsync());
        }
        else
        {
            Assert.Equal([field], await AppsHttp.AssertValidationAsync(response));
            Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
        }
    }

    [Fact]
    public async Task Post_Runs_Applies_Defaults_So_Kimara_Receives_The_Complete_Input_Object()
    {
        using var client = fixture.Gateway.CreateCallerClient();

        var received = await SubmitAndReceiveAsync(client, "text-to-image", new JsonObject { ["prompt"] = "a lighthouse", ["seed"] = 7 });

        AssertJson(new JsonObject
        {
            ["prompt"] = "a lighthouse",
            ["negative_prompt"] = "",
            ["steps"] = 30,
            ["seed"] = 7,
            ["aspect_ratio"] = "1:1",
        }, received);
    }

    [Fact]
    public async Task Post_Runs_Picks_A_Seed_In_Kimaras_Range_When_It_Is_Omitted()
    {
        using var client = fixture.Gateway.CreateCallerClient();

        var received = await SubmitAndReceiveAsync(client, "text-to-image", new JsonObject { ["prompt"] = "a lighthouse" });

        var seed = received["seed"]!.GetValue<long>();
        Assert.InRange(seed, 0, uint.MaxValue);
        received.Remove("seed");
        AssertJson(new JsonObject { ["prompt"] = "a lighthouse", ["negative_prompt"] = "", ["steps"] = 30, ["aspect_ratio"] = "1:1" }, received);
    }

    [Fact]
    public async Task Post_Runs_Forwards_Given_Values_Unchanged()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var inputs = new JsonObject { ["prompt"] = "p", ["negative_prompt"] = "blur", ["steps"] = 12, ["seed"] = 4294967295, ["aspect_ratio"] = "9:16" };

        var received = await SubmitAndReceiveAsync(client, "text-to-image", inputs);

        AssertJson(inputs, received);
    }

    [Fact]
    public async Task Post_Runs_Forwards_An_Image_As_A_Data_Uri_Of_Its_Real_Type_With_Defaults()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var png = TestImages.Png(20, 10);

        // Declared as JPEG, but the bytes are a PNG: what goes upstream says what the bytes are.
        var received = await SubmitAndReceiveAsync(client, "image-to-image", new JsonObject { ["image"] = TestImages.DataUri(png, "image/jpeg") });

        AssertJson(new JsonObject { ["image"] = TestImages.DataUri(png), ["prompt"] = "", ["strength"] = 0.6 }, received);
    }

    [Fact]
    public async Task Post_Runs_Takes_Multipart_With_A_File_Part_And_Typed_Form_Values()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var jpeg = TestImages.Jpeg(640, 480);
        var receivedBefore = (await fixture.Upstream.ReceivedAsync()).Count;
        using var form = new MultipartFormDataContent
        {
            { new StringContent("image-to-image"), "app_id" },
            { new StringContent("as an oil painting"), "prompt" },
            { new StringContent("0.25"), "strength" },
        };
        var file = new ByteArrayContent(jpeg);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "image", "photo.bin");

        using var response = await client.PostAsync("/runs", form);

        await AppsHttp.AssertAcceptedAsync(response);
        var received = (await fixture.Upstream.ReceivedAsync())[receivedBefore];
        AssertJson(new JsonObject
        {
            ["image"] = TestImages.DataUri(jpeg, "image/jpeg"),
            ["prompt"] = "as an oil painting",
            ["strength"] = 0.25,
        }, received["inputs"]!.AsObject());
    }

    [Theory]
    [InlineData("steps", "20.0")]
    [InlineData("steps", "twenty")]
    [InlineData("aspect_ratio", "2:1")]
    [InlineData("sampler", "euler")]
    public async Task Post_Runs_Refuses_Multipart_Form_Values_That_Are_Not_Of_The_Field_Type(string name, string value)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("text-to-image"), "app_id" },
            { new StringContent("x"), "prompt" },
            { new StringContent(value), name },
        };

        using var response = await client.PostAsync("/runs", form);

        Assert.Equal(["inputs." + name], await AppsHttp.AssertValidationAsync(response));
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    public static TheoryData<string, string, string> BrokenMultipart => new()
    {
        { "multipart/form-data", "--b\r\n\r\nx\r\n--b--\r\n", "malformed_request" },
        { "multipart/form-data; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n", "malformed_request" },
        { "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"app_id\"\r\n\r\nupscaler", "malformed_request" },
        { "multipart/form-data; boundary=b", "no boundary anywhere", "malformed_request" },
        { "multipart/form-data; boundary=b", string.Concat(Enumerable.Range(0, 40).Select(i => $"--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n")) + "--b--\r\n", "malformed_request" },
        { "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx\r\n--b--\r\n", "validation_failed" },
    };

    [Theory]
    [MemberData(nameof(BrokenMultipart))]
    public async Task Post_Runs_Answers_A_Broken_Multipart_Body_With_A_400_Problem(string contentType, string body, string code)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        using var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await client.PostAsync("/runs", content);

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.BadRequest, code);
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [InlineData("no-such-app")]
    [InlineData("TEXT-TO-IMAGE")]
    public async Task Post_Runs_Answers_An_Unknown_App_With_404_App_Not_Found(string appId)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.PostRunAsync(appId, new JsonObject { ["prompt"] = "x" });

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.NotFound, "app_not_found");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [InlineData("no-such-app")]
    [InlineData("%20")]
    [InlineData("a%2Fb")]
    public async Task Post_Apps_Runs_Answers_A_Path_Naming_No_App_With_404(string appId)
    {
        using var client = fixture.Gateway.CreateCallerClient();

        using var response = await client.PostJsonAsync("""{"prompt":"x"}""", $"/apps/{appId}/runs");

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.NotFound, "app_not_found");
    }

    [Fact]
    public async Task Post_Apps_Runs_Takes_The_Bare_Inputs_With_The_App_In_The_Path()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var receivedBefore = (await fixture.Upstream.ReceivedAsync()).Count;

        using var response = await client.PostJsonAsync("""{"prompt":"a fox","seed":3,"steps":8}""", "/apps/text-to-image/runs");

        var run = await AppsHttp.AssertAcceptedAsync(response);
        Assert.Equal("text-to-image", run["app_id"]!.GetValue<string>());
        Assert.Equal($"/runs/{run["id"]}", response.Headers.Location!.AbsolutePath);
        var received = (await fixture.Upstream.ReceivedAsync())[receivedBefore];
        AssertJson(new JsonObject { ["prompt"] = "a fox", ["negative_prompt"] = "", ["steps"] = 8, ["seed"] = 3, ["aspect_ratio"] = "1:1" },
            received["inputs"]!.AsObject());
    }

    [Theory]
    [InlineData("""{"app_id":"text-to-image","inputs":{"prompt":"x","prompt":"y"}}""")]
    [InlineData("""{"app_id":"text-to-image","app_id":"upscaler","inputs":{"prompt":"x"}}""")]
    public async Task Post_Runs_Refuses_A_Repeated_Property_Name_Rather_Than_Picking_One(string body)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.PostJsonAsync(body);

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed_request");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Fact]
    public async Task Post_Runs_Refuses_A_Body_Over_The_Limit_Before_Reading_It_When_Its_Length_Is_Declared()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        using var content = new ByteArrayContent(new byte[20 * 1024 * 1024]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/runs", content);

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    private async Task<JsonObject> SubmitAndReceiveAsync(HttpClient client, string appId, JsonObject inputs)
    {
        var receivedBefore = (await fixture.Upstream.ReceivedAsync()).Count;
        using var response = await client.PostRunAsync(appId, inputs);
        await AppsHttp.AssertAcceptedAsync(response);
        var received = await fixture.Upstream.ReceivedAsync();
        Assert.Equal(receivedBefore + 1, received.Count);
        Assert.Equal(appId, received[^1]["app_id"]!.GetValue<string>());
        return received[^1]["inputs"]!.AsObject();
    }

    private static void AssertJson(JsonObject expected, JsonObject actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual), string.Create(CultureInfo.InvariantCulture, $"Expected {Short(expected)}, got {Short(actual)}"));

    private static string Short(JsonNode node)
    {
        var text = node.ToJsonString();
        return text.Length > 300 ? text[..300] + "..." : text;
    }
}
