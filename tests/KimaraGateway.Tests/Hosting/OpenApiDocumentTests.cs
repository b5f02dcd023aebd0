using System.Net;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Hosting;

/// <summary>The OpenAPI document Swagger UI shows: it parses, and every operation is named, summarised and declares its answers.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenApiDocumentTests(GatewayFixture fixture)
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    [Fact]
    public async Task Every_Operation_Has_An_Id_A_Summary_A_Success_Response_And_Its_Errors_Declared()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/swagger/v1/swagger.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Where(o => Methods.Contains(o.Key)).Select(o => (Path: path.Key, Method: o.Key, Operation: o.Value!.AsObject())))
            .ToArray();
        Assert.Contains(operations, o => o.Path == "/runs" && o.Method == "post");
        Assert.Contains(operations, o => o.Path == "/runs/{id}" && o.Method == "get");
        Assert.All(operations, o =>
        {
            var name = $"{o.Method.ToUpperInvariant()} {o.Path}";
            Assert.False(string.IsNullOrWhiteSpace(o.Operation["operationId"]?.GetValue<string>()), $"{name} has no operationId");
            Assert.False(string.IsNullOrWhiteSpace(o.Operation["summary"]?.GetValue<string>()), $"{name} has no summary");
            var responses = o.Operation["responses"]!.AsObject().Select(r => r.Key).ToArray();
            Assert.True(responses.Any(r => r.StartsWith('2') || r.StartsWith('3')), $"{name} declares no success response");
            if (o.Path.StartsWith("/runs", StringComparison.Ordinal))
            {
                Assert.True(responses.Contains("401"), $"{name} does not declare 401");
            }
        });
        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.NotEmpty(schemes);
    }

    [Fact]
    public async Task The_Submit_Example_Is_A_Valid_Submission_And_Run_Responses_Show_Kimaras_Shape()
    {
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        using var client = fixture.Gateway.CreateCallerClient();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/swagger/v1/swagger.json"))!;

        var example = document["paths"]!["/runs"]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"]!;
        using var submitted = await client.PostAsync("/runs", new StringContent(example.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var accepted = document["paths"]!["/runs"]!["post"]!["responses"]!["202"]!["content"]!["application/json"]!["example"]!;
        var completed = document["paths"]!["/runs/{id}"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["example"]!;

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal("queued", accepted["status"]!.GetValue<string>());
        Assert.Equal("completed", completed["status"]!.GetValue<string>());
        Assert.NotNull(completed["output_url"]);
    }
}
