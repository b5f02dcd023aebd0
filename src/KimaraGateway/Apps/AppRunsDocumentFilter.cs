using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace KimaraGateway.Apps;

/// <summary>
/// Replaces the generic <c>POST /apps/{appId}/runs</c> in the OpenAPI document with one operation per App of the
/// catalogue, each with that App's input schema and a prefilled valid example, so Swagger UI can try any App directly.
/// </summary>
internal sealed class AppRunsDocumentFilter(AppCatalogue catalogue) : IDocumentFilter
{
    public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
    {
        if (swaggerDoc.Paths is null || !swaggerDoc.Paths.TryGetValue(AppsApi.RunsPath, out var generic)
            || generic.Operations?.TryGetValue(HttpMethod.Post, out var template) != true)
        {
            return;
        }

        swaggerDoc.Paths.Remove(AppsApi.RunsPath);
        var snapshot = catalogue.Current;
        foreach (var id in snapshot.Order)
        {
            var entry = snapshot.Apps[id];
            var operation = new OpenApiOperation(template!)
            {
                OperationId = "Run_" + id,
                Summary = $"Run {entry.App.Name}",
                Description = (entry.App.Description is { } d ? d + " " : "")
                    + $"Same as POST /runs with app_id \"{id}\". Poll GET /runs/{{id}} or subscribe to /runs/{{id}}/events.",
                Parameters = [.. (template!.Parameters ?? []).Where(p => p.Name != AppSubmissions.AppIdRouteValue)],
                RequestBody = Body(entry, swaggerDoc),
            };
            swaggerDoc.Paths[AppsApi.RunsPath.Replace("{appId}", id, StringComparison.Ordinal)] = new OpenApiPathItem
            {
                Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = operation },
            };
        }
    }

    private static OpenApiRequestBody Body(CatalogueEntry entry, OpenApiDocument document)
    {
        var content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new() { Schema = Parse(entry.Schema, document), Example = entry.Example.DeepClone() },
        };
        if (entry.App.HasImages)
        {
            // Form fields render as inputs in Swagger UI, image fields as file pickers.
            var form = entry.Schema.DeepClone().AsObject();
            form.Remove("examples");
            var properties = form["properties"]!.AsObject();
            foreach (var field in entry.App.Fields.Where(f => f.Type == FieldType.Image))
            {
                properties[field.Name] = new JsonObject { ["type"] = "string", ["format"] = "binary", ["description"] = properties[field.Name]?["description"]?.DeepClone() };
            }

            content["multipart/form-data"] = new() { Schema = Parse(form, document) };
        }

        return new OpenApiRequestBody { Required = true, Content = content, Description = $"The inputs of {entry.App.Name}." };
    }

    private static OpenApiSchema Parse(JsonObject schema, OpenApiDocument document)
    {
        var copy = schema.DeepClone().AsObject();
        copy.Remove("$schema");
        return OpenApiModelFactory.Parse<OpenApiSchema>(copy.ToJsonString(), OpenApiSpecVersion.OpenApi3_1, document, out _, "json")
            ?? new OpenApiSchema { Type = JsonSchemaType.Object };
    }
}
