using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace KimaraGateway.Runs;

/// <summary>
/// Request and response examples for the run operations, in Kimara's documented shape, so Swagger UI's "Try it out"
/// starts from a valid submission and a reader sees what comes back.
/// </summary>
internal sealed class RunExamplesOperationFilter : IOperationFilter
{
    private const string RunId = "run_3ftn4xr6swiu4ypernciu6bo";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        switch (operation.OperationId)
        {
            case "SubmitRun":
                SetRequestExample(operation, new JsonObject
                {
                    ["app_id"] = "text-to-image",
                    ["inputs"] = new JsonObject { ["prompt"] = "a beautiful landscape at sunset" },
                });
                SetResponseExample(operation, "202", Run("queued"));
                break;
            case "GetRun":
                SetResponseExample(operation, "200", Run("completed"));
                break;
            case "ListRuns":
                SetResponseExample(operation, "200", new JsonObject { ["data"] = new JsonArray(Run("completed")), ["next_cursor"] = "MTc2NDgxMTM2Nzg3MTpydW5fM2Z0bjR4cjZzd2l1NHlwZXJuY2l1NmJv" });
                break;
        }
    }

    private static JsonObject Run(string status)
    {
        var run = new JsonObject
        {
            ["id"] = RunId,
            ["app_id"] = "text-to-image",
            ["status"] = status,
            ["created_at"] = "2026-12-04T00:56:07.871Z",
            ["updated_at"] = status == "queued" ? "2026-12-04T00:56:07.871Z" : "2026-12-04T00:56:12.313Z",
        };
        if (status == "completed")
        {
            run["output_url"] = $"https://gateway.example.com/outputs/{RunId}?expires=1796354549&sig=4rXXoUHKzk5j0PgPBHtyMjqvU7H65w5nEIHspRjuZ14";
            run["output"] = new JsonObject { ["content_type"] = "image/png", ["bytes"] = 67401, ["sha256"] = "ef5deac03d9980114e07640f16d868bec4eb2131c32db685b4c8e0bdf443a0fa" };
            run["completed_at"] = "2026-12-04T00:56:12.313Z";
        }

        return run;
    }

    private static void SetRequestExample(OpenApiOperation operation, JsonNode example)
    {
        if (operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true && media is OpenApiMediaType json)
        {
            json.Example = example;
        }
    }

    private static void SetResponseExample(OpenApiOperation operation, string status, JsonNode example)
    {
        if (operation.Responses?.TryGetValue(status, out var response) == true
            && response.Content?.TryGetValue("application/json", out var media) == true && media is OpenApiMediaType json)
        {
            json.Example = example;
        }
    }
}
