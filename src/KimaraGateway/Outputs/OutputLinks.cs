using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>What a signed link check found.</summary>
public enum LinkCheck
{
    Valid,
    Invalid,
    Expired,
}

/// <summary>
/// The run's <c>output_url</c>: a gateway link carrying its expiry and an HMAC-SHA256 over run id and expiry, so it works
/// with no header (an <c>&lt;img src&gt;</c>, a plain curl). Signed with the current key; keys rotated out are still accepted
/// until their <c>AcceptUntil</c>. Kimara's own URL is never shown.
/// </summary>
public sealed partial class OutputLinks
{
    private const int MaxRecent = 10_000;

    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly long _step;
    private readonly ConcurrentDictionary<string, (long Expires, QueryString Query)> _recent = new(StringComparer.Ordinal);
    private readonly byte[] _signingKey;
    private readonly (byte[] Key, DateTimeOffset AcceptUntil)[] _previous;

    public OutputLinks(TimeProvider time, IOptions<OutputsOptions> options, ILogger<OutputLinks> logger)
    {
        _time = time;
        var o = options.Value.Links;
        _lifetime = o.Lifetime;
        _step = Math.Clamp((long)o.Lifetime.TotalSeconds / 60, 1, 60);
        if (o.SigningKey is null)
        {
            // Only reachable in Development (validation requires a key elsewhere).
            LogEphemeralKey(logger);
        }

        _signingKey = o.SigningKey is null ? RandomNumberGenerator.GetBytes(32) : Encoding.UTF8.GetBytes(o.SigningKey);
        _previous = [.. o.PreviousKeys.Select(k => (Encoding.UTF8.GetBytes(k.Key!), k.AcceptUntil))];
    }

    /// <summary>
    /// A link valid for at least the configured lifetime from now. The expiry is rounded up to a step (a sixtieth of the
    /// lifetime, 1 to 60 s), so every read within a step hands out the same link: a browser showing the output keeps its
    /// cached copy while it polls, and the signature is computed once per run and step, not once per read.
    /// </summary>
    /// <remarks>
    /// Built from the request's scheme, host and path base (after the forwarded headers) rather than by LinkGenerator: this
    /// is on every read of a completed run, and the route is fixed (<see cref="OutputsApi.SignedOutputPathPrefix"/>).
    /// </remarks>
    public string SignedUrl(HttpContext context, RunRecord run)
    {
        // Rounded up from the millisecond: never a fraction of a second short of the lifetime.
        var stepMs = _step * 1000;
        var expires = ((_time.GetUtcNow() + _lifetime).ToUnixTimeMilliseconds() + stepMs - 1) / stepMs * _step;
        if (!_recent.TryGetValue(run.Id, out var recent) || recent.Expires != expires)
        {
            if (_recent.Count >= MaxRecent)
            {
                _recent.Clear();
            }

            recent = (expires, QueryOf(run.Id, expires));
            _recent[run.Id] = recent;
        }

        var request = context.Request;
        return UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, PathOf(run.Id), recent.Query);
    }

    /// <summary>The link's path and query, for a given expiry.</summary>
    internal string SignedPath(string runId, DateTimeOffset expires) => PathOf(runId) + QueryOf(runId, expires.ToUnixTimeSeconds()).ToUriComponent();

    private static PathString PathOf(string runId) => new PathString(OutputsApi.SignedOutputPathPrefix).Add("/" + runId);

    public LinkCheck Check(string runId, long expires, string? signature)
    {
        // An HMAC-SHA256 is 32 bytes: 43 characters of unpadded base64url.
        if (signature is null || signature.Length != 43)
        {
            return LinkCheck.Invalid;
        }

        var now = _time.GetUtcNow();
        var valid = Matches(_signingKey, runId, expires, signature)
            || _previous.Any(p => p.AcceptUntil > now && Matches(p.Key, runId, expires, signature));
        if (!valid)
        {
            return LinkCheck.Invalid;
        }

        return DateTimeOffset.FromUnixTimeSeconds(expires) <= now ? LinkCheck.Expired : LinkCheck.Valid;
    }

    // Digits and unpadded base64url: nothing to escape.
    private QueryString QueryOf(string runId, long expires) =>
        new(string.Create(CultureInfo.InvariantCulture, $"?expires={expires}&sig={Sign(_signingKey, runId, expires)}"));

    private static bool Matches(byte[] key, string runId, long expires, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(key, runId, expires)), Encoding.ASCII.GetBytes(signature));

    private static string Sign(byte[] key, string runId, long expires) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"output:{runId}:{expires}"))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outputs:Links:SigningKey is not set: output links are signed with a random key that dies with this process (Development only)")]
    private static partial void LogEphemeralKey(ILogger logger);
}
