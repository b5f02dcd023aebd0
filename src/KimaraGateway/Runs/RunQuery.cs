using System.Globalization;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace KimaraGateway.Runs;

/// <summary>
/// Parsing of the run routes' query values and conditional headers. Query values are read as strings so a bad one is a
/// 400 problem naming it, not the framework's bare 400 for a failed binding.
/// </summary>
public static class RunQuery
{
    public const int MaxWaitSeconds = 30;
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    public const int MaxAppIdLength = 100;

    private static readonly Dictionary<string, RunStatus> Statuses = new(StringComparer.OrdinalIgnoreCase)
    {
        ["queued"] = RunStatus.Queued,
        ["running"] = RunStatus.Running,
        ["completed"] = RunStatus.Completed,
        ["failed"] = RunStatus.Failed,
    };

    /// <summary><c>wait</c>: whole seconds, 0 to <see cref="MaxWaitSeconds"/>; absent is 0.</summary>
    public static bool TryParseWait(string? value, out int seconds) =>
        TryParseInt(value, 0, 0, MaxWaitSeconds, out seconds);

    /// <summary><c>limit</c>: 1 to <see cref="MaxLimit"/>; absent is <see cref="DefaultLimit"/>.</summary>
    public static bool TryParseLimit(string? value, out int limit) =>
        TryParseInt(value, DefaultLimit, 1, MaxLimit, out limit);

    /// <summary><c>status</c>: exactly one of Kimara's four names (no numbers, no comma lists).</summary>
    public static bool TryParseStatus(string? value, out RunStatus? status)
    {
        status = null;
        if (value is null)
        {
            return true;
        }

        if (!Statuses.TryGetValue(value, out var parsed))
        {
            return false;
        }

        status = parsed;
        return true;
    }

    /// <summary><c>app_id</c>: non-empty and of reasonable length when given.</summary>
    public static bool IsValidAppId(string? value) => value is null || value.Length is > 0 and <= MaxAppIdLength;

    /// <summary>
    /// Whether <c>If-None-Match</c> matches <paramref name="etag"/>: <c>*</c>, or any listed tag by weak comparison
    /// (RFC 9110 §13.1.2), so <c>W/"x"</c> and several comma-separated tags work. An unparsable header matches nothing.
    /// </summary>
    /// <param name="ifNoneMatch">The request's <c>If-None-Match</c> values.</param>
    /// <param name="etag">The run's current ETag.</param>
    /// <param name="matchAny">Whether <c>*</c> counts; a long poll ignores it, since no change could ever end the wait with news.</param>
    public static bool IfNoneMatchMatches(StringValues ifNoneMatch, string etag, bool matchAny = true)
    {
        if (StringValues.IsNullOrEmpty(ifNoneMatch) || !EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags))
        {
            return false;
        }

        var current = new EntityTagHeaderValue(etag);
        return tags.Any(t => (matchAny && t.Equals(EntityTagHeaderValue.Any)) || t.Compare(current, useStrongComparison: false));
    }

    private static bool TryParseInt(string? value, int absent, int min, int max, out int result)
    {
        if (value is null)
        {
            result = absent;
            return true;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max;
    }
}
