using System.Buffers.Text;
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
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly byte[] _signingKey;
    private readonly (byte[] Key, DateTimeOffset AcceptUntil)[] _previous;

    public OutputLinks(TimeProvider time, IOptions<OutputsOptions> options, ILogger<OutputLinks> logger)
    {
        _time = time;
        var o = options.Value.Links;
        _lifetime = o.Lifetime;
        if (o.SigningKey is null)
        {
            // Only reachable in Development (validation requires a key elsewhere).
            LogEphemeralKey(logger);
        }

        _signingKey = o.SigningKey is null ? RandomNumberGenerator.GetBytes(32) : Encoding.UTF8.GetBytes(o.SigningKey);
        _previous = [.. o.PreviousKeys.Select(k => (Encoding.UTF8.GetBytes(k.Key!), k.AcceptUntil))];
    }

    /// <summary>A fresh link, valid for the configured lifetime from now.</summary>
    /// <remarks>
    /// Built from the request's scheme, host and path base (after the forwarded headers) rather than by LinkGenerator: this
    /// is on every read of a completed run, and the route is fixed (<see cref="OutputsApi.SignedOutputPathPrefix"/>).
    /// </remarks>
    public string SignedUrl(HttpContext context, RunRecord run)
    {
        var request = context.Request;
        return UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, PathOf(run.Id), QueryOf(run.Id, _time.GetUtcNow() + _lifetime));
    }

    /// <summary>The link's path and query, for a given expiry.</summary>
    internal string SignedPath(string runId, DateTimeOffset expires) => PathOf(runId) + QueryOf(runId, expires).ToUriComponent();

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
    private QueryString QueryOf(string runId, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        return new QueryString(string.Create(CultureInfo.InvariantCulture, $"?expires={seconds}&sig={Sign(_signingKey, runId, seconds)}"));
    }

    private static bool Matches(byte[] key, string runId, long expires, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(key, runId, expires)), Encoding.ASCII.GetBytes(signature));

    private static string Sign(byte[] key, string runId, long expires) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"output:{runId}:{expires}"))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outputs:Links:SigningKey is not set: output links are signed with a random key that dies with this process (Development only)")]
    private static partial void LogEphemeralKey(ILogger logger);
}
