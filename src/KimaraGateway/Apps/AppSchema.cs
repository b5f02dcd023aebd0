using System.Text.Json.Nodes;

namespace KimaraGateway.Apps;

/// <summary>An App's inputs as JSON Schema (draft 2020-12), for frontends to render a form and for Swagger.</summary>
public static class AppSchema
{
    public const string Dialect = "https://json-schema.org/draft/2020-12/schema";

    public static JsonObject For(AppDefinition app, JsonObject example)
    {
        var properties = new JsonObject();
        foreach (var field in app.Fields)
        {
            properties[field.Name] = Field(field);
        }

        var schema = new JsonObject
        {
            ["$schema"] = Dialect,
            ["title"] = app.Name,
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = new JsonArray([.. app.Fields.Where(f => f.Required).Select(f => (JsonNode)f.Name)]),
            ["additionalProperties"] = false,
            ["examples"] = new JsonArray(example.DeepClone()),
        };
        if (app.Description is not null)
        {
            schema["description"] = app.Description;
        }

        return schema;
    }

    private static JsonObject Field(InputField field)
    {
        var schema = new JsonObject();
        switch (field.Type)
        {
            case FieldType.Text:
                schema["type"] = "string";
                schema["minLength"] = field.MinLength;
                schema["maxLength"] = field.MaxLength;
                if (field.PatternText is { } pattern)
                {
                    schema["pattern"] = $"^(?:{pattern})$";
                }

                break;
            case FieldType.Enum:
                schema["type"] = "string";
                schema["enum"] = new JsonArray([.. field.Values.Select(v => (JsonNode)v)]);
                break;
            case FieldType.Boolean:
                schema["type"] = "boolean";
                break;
            case FieldType.Integer or FieldType.Seed or FieldType.Number:
                schema["type"] = field.IsWhole ? "integer" : "number";
                AddNumber(schema, "minimum", field.Min, field.IsWhole);
                AddNumber(schema, "maximum", field.Max, field.IsWhole);
                AddNumber(schema, "multipleOf", field.Step, field.IsWhole);
                break;
            case FieldType.Image:
                schema["type"] = "string";
                schema["pattern"] = $"^data:({string.Join('|', field.ContentTypes)});base64,";
                // Limits JSON Schema cannot express, for frontends to check before uploading.
                schema["x-kgw-image"] = new JsonObject
                {
                    ["content_types"] = new JsonArray([.. field.ContentTypes.Select(t => (JsonNode)t)]),
                    ["max_bytes"] = field.MaxBytes,
                    ["max_width"] = field.MaxWidth,
                    ["max_height"] = field.MaxHeight,
                };
                break;
        }

        var description = field.Description ?? "";
        if (field.Type == FieldType.Seed && field.Default is null)
        {
            description = (description + " Random when omitted.").Trim();
        }

        if (field.Type == FieldType.Image)
        {
            description = (description + $" A data:image/...;base64 URI in JSON, or a file part named '{field.Name}' in multipart/form-data; "
                + $"{string.Join(", ", field.ContentTypes)}, at most {Limits.Bytes(field.MaxBytes)} and {field.MaxWidth}×{field.MaxHeight} pixels.").Trim();
        }

        if (description.Length > 0)
        {
            schema["description"] = description;
        }

        if (field.Default is { } value)
        {
            schema["default"] = value.DeepClone();
        }

        if (field.Example is { } example)
        {
            schema["examples"] = new JsonArray(example.DeepClone());
        }

        return schema;
    }

    private static void AddNumber(JsonObject schema, string keyword, decimal? value, bool whole)
    {
        if (value is { } v)
        {
            schema[keyword] = whole ? JsonValue.Create((long)v) : JsonValue.Create(v);
        }
    }
}
