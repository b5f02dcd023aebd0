using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KimaraGateway.Apps;

#pragma warning disable CA1720 // The names are the catalogue's field types, as configured.
public enum FieldType
{
    Text,
    Integer,
    Number,
    Boolean,
    Enum,
    Seed,
    Image,
}
#pragma warning restore CA1720

/// <summary>An App of the catalogue, checked for consistency when it was loaded.</summary>
public sealed record AppDefinition(
    string Id,
    string Name,
    string? Description,
    IReadOnlySet<string> AllowedCallers,
    IReadOnlyList<InputField> Fields)
{
    public bool HasImages => Fields.Any(f => f.Type == FieldType.Image);

    public InputField? Field(string name) => Fields.FirstOrDefault(f => f.Name == name);
}

/// <summary>
/// One input field with its bounds, already typed: <see cref="Default"/> and <see cref="Example"/> are the JSON values
/// sent upstream and shown to callers. Only the bounds of its <see cref="Type"/> are set.
/// </summary>
public sealed record InputField
{
    /// <summary>Kimara's seed range: an unsigned 32-bit integer.</summary>
    public const long SeedMax = uint.MaxValue;

    public required string Name { get; init; }

    public required FieldType Type { get; init; }

    public bool Required { get; init; }

    public string? Description { get; init; }

    public JsonNode? Default { get; init; }

    public JsonNode? Example { get; init; }

    public int MinLength { get; init; }

    public int MaxLength { get; init; }

    /// <summary>Matches the whole text (anchored); <see cref="PatternText"/> is the configured expression.</summary>
    public Regex? Pattern { get; init; }

    public string? PatternText { get; init; }

    public decimal? Min { get; init; }

    public decimal? Max { get; init; }

    public decimal? Step { get; init; }

    public IReadOnlyList<string> Values { get; init; } = [];

    public IReadOnlyList<string> ContentTypes { get; init; } = [];

    public long MaxBytes { get; init; }

    public int MaxWidth { get; init; }

    public int MaxHeight { get; init; }

    public bool IsWhole => Type is FieldType.Integer or FieldType.Seed;
}
