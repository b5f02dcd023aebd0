using System.Text.Json.Serialization;

namespace KimaraGateway.Runs;

/// <summary>Source-generated JSON for stored run records.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunRecord))]
internal sealed partial class RunJsonContext : JsonSerializerContext;
