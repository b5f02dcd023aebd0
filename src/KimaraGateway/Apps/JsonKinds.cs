using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KimaraGateway.Apps;

/// <summary>Strict reads of JSON values: a string is never a number, 20.0 is never an integer.</summary>
public static class JsonKinds
{
    public static bool IsString(JsonNode? node, out string text)
    {
        text = "";
        return node is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.TryGetValue(out text!);
    }

    /// <summary>A JSON integer literal (no fraction, no exponent) that fits in 64 bits.</summary>
    public static bool IsInteger(JsonNode? node, out long number)
    {
        number = 0;
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number)
        {
            return false;
        }

        // Values parsed from a request are JsonElement-backed; the raw text tells 20 from 20.0 and 2e1.
        var raw = value.ToJsonString();
        return raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);
    }

    public static bool IsNumber(JsonNode? node, out decimal number)
    {
        number = 0;
        return node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            && decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number);
    }

    public static bool IsBoolean(JsonNode? node, out bool flag)
    {
        flag = false;
        return node is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False && value.TryGetValue(out flag);
    }

    /// <summary>What a value is, for messages: <c>a string ("20")</c>, <c>a number (20.5)</c>, <c>null</c>.</summary>
    public static string Describe(JsonNode? node)
    {
        if (node is null)
        {
            return "null";
        }

        var kind = node.GetValueKind();
        var text = kind is JsonValueKind.Object or JsonValueKind.Array ? "" : node.ToJsonString();
        if (text.Length > 40)
        {
            text = text[..37] + "...";
        }

        return kind switch
        {
            JsonValueKind.String => $"a string ({text})",
            JsonValueKind.Number => $"a number ({text})",
            JsonValueKind.True or JsonValueKind.False => $"a boolean ({text})",
            JsonValueKind.Array => "an array",
            JsonValueKind.Object => "an object",
            _ => "null",
        };
    }
}

internal static class Limits
{
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1024 * 1024 when bytes % (1024 * 1024) == 0 => $"{bytes / (1024 * 1024)} MiB",
        >= 1024 when bytes % 1024 == 0 => $"{bytes / 1024} KiB",
        _ => $"{bytes} bytes",
    };
}
