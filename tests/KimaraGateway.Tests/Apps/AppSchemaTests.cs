using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Apps;

/// <summary>
/// The JSON Schema served for each App, checked with an independent validator (JsonSchema.Net): it accepts the App's
/// own example and rejects known-bad inputs. And Swagger documents one runnable operation per App.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AppSchemaTests(GatewayFixture fixture)
{
    public static TheoryData<string, string> KnownBad => new()
    {
        { "text-to-image", """{}""" },
        { "text-to-image", """{"prompt":42}""" },
        { "text-to-image", """{"prompt":"x","steps":101}""" },
        { "text-to-image", """{"prompt":"x","steps":"20"}""" },
        { "text-to-image", """{"prompt":"x","aspect_ratio":"2:1"}""" },
        { "text-to-image", """{"prompt":"x","seed":4294967296}""" },
        { "text-to-image", """{"prompt":"x","sampler":"euler"}""" },
        { "image-to-image", """{"prompt":"oil"}""" },
        { "image-to-image", """{"image":"https://example.com/cat.png"}""" },
        { "image-to-image", $$"""{"image":"{{AppCatalogueExample}}","strength":1.5}""" },
        { "upscaler", """{"image":"data:image/gif;base64,R0lGODlhAQABAAAAACw="}""" },
    };

    private static string AppCatalogueExample => KimaraGateway.Apps.AppCatalogueBuilder.ExamplePng;

    [Theory]
    [InlineData("text-to-image")]
    [InlineData("image-to-image")]
    [InlineData("upscaler")]
    public async Task The_Served_Schema_Is_Draft_2020_12_And_Accepts_The_Apps_Own_Example(string appId)
    {
        var app = await GetAppAsync(appId);
        var schema = app["input_schema"]!.AsObject();

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema["$schema"]!.GetValue<string>());
        var result = Evaluate(schema, app["example"]!);
        Assert.True(result.IsValid, Describe(result));
        Assert.True(Evaluate(schema, schema["examples"]![0]!).IsValid);
    }

    [Theory]
    [MemberData(nameof(KnownBad))]
    public async Task The_Served_Schema_Rejects_A_Known_Bad_Input(string appId, string inputs)
    {
        var app = await GetAppAsync(appId);

        var result = Evaluate(app["input_schema"]!.AsObject(), JsonNode.Parse(inputs)!);

        Assert.False(result.IsValid);
    }

    [Theory]
    [MemberData(nameof(KnownBad))]
    public async Task The_Gateway_Rejects_What_Its_Schema_Rejects(string appId, string inputs)
    {
        using var client = fixture.Gateway.CreateCallerClient();

        using var response = await client.PostRunAsync(appId, JsonNode.Parse(inputs)!.AsObject());

        Assert.NotEmpty(await AppsHttp.AssertValidationAsync(response));
    }

    [Theory]
    [InlineData("text-to-image")]
    [InlineData("image-to-image")]
    [InlineData("upscaler")]
    public async Task The_Apps_Example_Is_Accepted_By_The_Gateway(string appId)
    {
        var app = await GetAppAsync(appId);
        using var client = fixture.Gateway.CreateCallerClient();

        using var response = await client.PostJsonAsync(app["example"]!.ToJsonString(), app["run_url"]!.GetValue<string>());

        await AppsHttp.AssertAcceptedAsync(response);
    }

    [Fact]
    public async Task Swagger_Has_One_Operation_Per_App_Prefilled_With_Its_Example()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var apps = (await client.GetFromJsonAsync<JsonObject>("/apps"))!["data"]!.AsArray();

        var document = (await client.GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json"))!;

        var paths = document["paths"]!.AsObject();
        Assert.False(paths.ContainsKey("/apps/{appId}/runs"));
        foreach (var app in apps)
        {
            var id = app!["id"]!.GetValue<string>();
            var operation = paths[$"/apps/{id}/runs"]?["post"];
            Assert.True(operation is not null, $"No operation for {id}");
            Assert.Equal("Run_" + id, operation!["operationId"]!.GetValue<string>());
            var json = operation["requestBody"]!["content"]!["application/json"]!;
            Assert.True(JsonNode.DeepEquals(app["example"], json["example"]), $"{id}: {json["example"]}");
            var properties = json["schema"]!["properties"]!.AsObject().Select(p => p.Key);
            Assert.Equal(app["input_schema"]!["properties"]!.AsObject().Select(p => p.Key), properties);
            Assert.NotEmpty(operation["responses"]!.AsObject());
            var multipart = operation["requestBody"]!["content"]!["multipart/form-data"];
            Assert.Equal(id != "text-to-image", multipart is not null);
            if (multipart is not null)
            {
                Assert.Equal("binary", multipart["schema"]!["properties"]!["image"]!["format"]!.GetValue<string>());
            }
        }
    }

    private async Task<JsonObject> GetAppAsync(string appId)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        using var response = await client.GetAsync($"/apps/{appId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static EvaluationResults Evaluate(JsonObject schema, JsonNode instance)
    {
        var compiled = JsonSchema.FromText(schema.ToJsonString());
        using var document = JsonDocument.Parse(instance.ToJsonString());
        return compiled.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static string Describe(EvaluationResults result) =>
        string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
}
