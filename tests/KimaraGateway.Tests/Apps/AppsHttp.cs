using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace KimaraGateway.Tests.Apps;

/// <summary>Raw submissions and problem checks for the App tests.</summary>
public static class AppsHttp
{
    public static async Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string json, string path = "/runs")
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await client.PostAsync(path, content);
    }

    public static Task<HttpResponseMessage> PostRunAsync(this HttpClient client, string appId, JsonObject inputs) =>
        client.PostJsonAsync(new JsonObject { ["app_id"] = appId, ["inputs"] = inputs }.ToJsonString());

    /// <summary>Asserts an RFC 9457 problem with the given status and code, and returns it.</summary>
    public static async Task<JsonObject> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(code, problem["code"]?.GetValue<string>());
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        return problem;
    }

    /// <summary>The field names of a validation problem's errors.</summary>
    public static async Task<IReadOnlyList<string>> AssertValidationAsync(HttpResponseMessage response)
    {
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        return [.. problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal)];
    }

    public static async Task<JsonObject> AssertAcceptedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {response.StatusCode}: {body}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
