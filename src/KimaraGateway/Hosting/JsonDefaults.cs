using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimaraGateway.Hosting;

/// <summary>One JSON shape for callers, Kimara and the run store: snake_case like Kimara's API.</summary>
public static class JsonDefaults
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        // Bounded nesting: a caller cannot make the parser recurse without limit.
        options.MaxDepth = 32;
        return options;
    }
}
