using System.Text.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KimaraGateway.Runs;

/// <summary>
/// Reads the body of <c>POST /runs</c> without model binding, so every malformed body gets a precise 4xx problem
/// instead of the framework's exception path.
/// </summary>
public static class RunRequestReader
{
    public static async Task<(SubmitRunRequest? Request, ProblemHttpResult? Problem, Dictionary<string, string[]>? Errors)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, Problems.Result(StatusCodes.Status415UnsupportedMediaType, Problems.UnsupportedMediaType,
                "POST /runs takes application/json (or multipart/form-data for Apps with image fields)."), null);
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, new JsonNodeOptions { PropertyNameCaseInsensitive = false },
                new JsonDocumentOptions { MaxDepth = JsonDefaults.Options.MaxDepth }, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                $"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})."), null);
        }

        if (body is not JsonObject obj)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest, "The body must be a JSON object with app_id and inputs."), null);
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (name, _) in obj)
        {
            if (name is not ("app_id" or "inputs"))
            {
                errors[name] = [$"Unknown field '{name}'; a run takes app_id and inputs."];
            }
        }

        var appId = obj["app_id"] is JsonValue appValue && appValue.TryGetValue<string>(out var text) ? text : null;
        if (obj["app_id"] is not null && appId is null)
        {
            errors["app_id"] = ["app_id must be a string."];
        }

        var inputs = obj["inputs"] as JsonObject;
        if (obj["inputs"] is not null && inputs is null)
        {
            errors["inputs"] = ["inputs must be a JSON object."];
        }

        if (errors.Count > 0)
        {
            return (null, null, errors);
        }

        return (new SubmitRunRequest(appId, inputs), null, null);
    }
}
