using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace KimaraGateway.Runs;

/// <summary>An opaque position in a caller's newest-first run history: the creation time and id of the last run seen.</summary>
public readonly record struct RunCursor(long CreatedAtMs, string RunId)
{
    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{CreatedAtMs.ToString(CultureInfo.InvariantCulture)}:{RunId}"));

    public static bool TryParse(string? value, out RunCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(value) || value.Length > 200)
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || colon == text.Length - 1)
            {
                return false;
            }

            cursor = new RunCursor(ms, text[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>True when a run at (<paramref name="createdAtMs"/>, <paramref name="runId"/>) comes after this cursor in newest-first order.</summary>
    public bool Precedes(long createdAtMs, string runId) =>
        createdAtMs < CreatedAtMs || (createdAtMs == CreatedAtMs && string.CompareOrdinal(runId, RunId) < 0);
}
