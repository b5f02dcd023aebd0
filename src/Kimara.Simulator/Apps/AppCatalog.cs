using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kimara.Simulator.Apps;

/// <summary>The hard-coded Apps the simulator knows, with Kimara-like input validation.</summary>
internal static partial class AppCatalog
{
    private static readonly string[] AspectRatios = ["1:1", "16:9", "9:16", "4:3", "3:4"];

    private static readonly Dictionary<string, AppDefinition> Apps = new(StringComparer.Ordinal)
    {
        ["text-to-image"] = new("text-to-image",
        [
            new StringField("prompt", Required: true, MinLength: 1, MaxLength: 2000),
            new StringField("negative_prompt", Required: false, MinLength: 0, MaxLength: 2000),
            new IntegerField("steps", Min: 1, Max: 100),
            new IntegerField("seed", Min: 0, Max: uint.MaxValue),
            new EnumField("aspect_ratio", AspectRatios),
        ]),
        ["image-to-image"] = new("image-to-image",
        [
            new ImageField("image"),
            new StringField("prompt", Required: false, MinLength: 0, MaxLength: 2000),
            new NumberField("strength", Min: 0, Max: 1),
        ]),
        ["upscaler"] = new("upscaler", [new ImageField("image")]),
    };

    public static bool TryGet(string appId, out AppDefinition app) => Apps.TryGetValue(appId, out app!);

    /// <summary>Pixel size of the natural output of a run.</summary>
    public static (int Width, int Height) OutputSize(string appId, JsonElement inputs)
    {
        if (appId == "upscaler")
            return (1024, 1024);
        if (appId != "text-to-image"
            || !inputs.TryGetProperty("aspect_ratio", out var ratio)
            || ratio.ValueKind != JsonValueKind.String)
            return (512, 512);
        return ratio.GetString() switch
        {
            "16:9" => (768, 432),
            "9:16" => (432, 768),
            "4:3" => (640, 480),
            "3:4" => (480, 640),
            _ => (512, 512),
        };
    }

    /// <summary>True when any string anywhere in the inputs carries the <c>[fail]</c> token.</summary>
    public static bool RequestsFailure(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString()!.Contains("[fail]", StringComparison.Ordinal),
        JsonValueKind.Object => element.EnumerateObject().Any(p => RequestsFailure(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(RequestsFailure),
        _ => false,
    };

    [GeneratedRegex("^data:image/(png|jpeg|webp);base64,(.*)$", RegexOptions.Singleline)]
    internal static partial Regex DataUrl();
}

internal sealed record AppDefinition(string Id, IReadOnlyList<InputField> Fields)
{
    /// <summary>Checks inputs against the fields; returns field → problem, empty when valid.</summary>
    public Dictionary<string, string> Validate(JsonElement inputs)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        var known = Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var property in inputs.EnumerateObject())
        {
            if (!known.TryGetValue(property.Name, out var field))
            {
                problems[property.Name] = "unknown field";
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
                continue;
            if (field.Check(property.Value) is { } problem)
                problems[property.Name] = problem;
        }

        foreach (var field in Fields.Where(f => f.Required))
        {
            if (!inputs.TryGetProperty(field.Name, out var value) || value.ValueKind == JsonValueKind.Null)
                problems[field.Name] = "required";
        }

        return problems;
    }
}

internal abstract record InputField(string Name, bool Required)
{
    /// <summary>The problem with a present, non-null value, or null when it is fine.</summary>
    public abstract string? Check(JsonElement value);
}

internal sealed record StringField(string Name, bool Required, int MinLength, int MaxLength) : InputField(Name, Required)
{
    public override string? Check(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
            return $"must be a string, got {Kind(value)}";
        var length = value.GetString()!.Length;
        return length < MinLength || length > MaxLength
            ? $"length must be between {MinLength} and {MaxLength} characters, got {length}"
            : null;
    }

    internal static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}

internal sealed record EnumField(string Name, IReadOnlyList<string> Values) : InputField(Name, Required: false)
{
    public override string? Check(JsonElement value) =>
        value.ValueKind == JsonValueKind.String && Values.Contains(value.GetString()!)
            ? null
            : $"must be one of {string.Join(", ", Values.Select(v => $"\"{v}\""))}";
}

internal sealed record IntegerField(string Name, long Min, long Max) : InputField(Name, Required: false)
{
    public override string? Check(JsonElement value)
    {
        // TryGetInt64 refuses 20.0 and 2e1: Kimara wants JSON integers, not numbers that happen to be whole.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            return $"must be an integer, got {(value.ValueKind == JsonValueKind.Number ? "a non-integer number" : StringField.Kind(value))}";
        return number < Min || number > Max ? $"must be between {Min} and {Max}, got {number}" : null;
    }
}

internal sealed record NumberField(string Name, double Min, double Max) : InputField(Name, Required: false)
{
    public override string? Check(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number))
            return $"must be a number, got {StringField.Kind(value)}";
        return number < Min || number > Max ? $"must be between {Min} and {Max}, got {number}" : null;
    }
}

internal sealed record ImageField(string Name) : InputField(Name, Required: true)
{
    private static readonly byte[] PngMagic = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly byte[] JpegMagic = [0xFF, 0xD8, 0xFF];

    public override string? Check(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
            return $"must be a data URL string, got {StringField.Kind(value)}";
        var match = AppCatalog.DataUrl().Match(value.GetString()!);
        if (!match.Success)
            return "must be a data:image/png|jpeg|webp;base64,... URL";

        var base64 = match.Groups[2].Value;
        var bytes = new byte[base64.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(base64, bytes, out var length) || length == 0)
            return "is not valid base64";
        var data = bytes.AsSpan(0, length);
        var ok = match.Groups[1].Value switch
        {
            "png" => data.StartsWith(PngMagic),
            "jpeg" => data.StartsWith(JpegMagic),
            _ => data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8),
        };
        return ok ? null : $"is not a {match.Groups[1].Value} image";
    }
}
