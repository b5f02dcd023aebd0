using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>
/// <c>Idempotency-Key</c> on <c>POST /runs</c>, scoped to the caller. The first request with a key runs; its response is kept
/// (<see cref="IdempotencyOptions.Retention"/>, 24 h) and replayed byte for byte to every retry with the same key and body,
/// which starts nothing. The same key with another body is a 422; a retry while the first is still running is a 409.
/// <para>
/// Kept are the responses that started a run or may have: 2xx, and the 504 whose upstream outcome is unknown (Kimara may
/// have started a paid run). That 504 is replayed too, with the same run id, so a retry never becomes a second paid run;
/// to submit again the caller uses a new key. Answers that started nothing (validation errors, limits, Kimara unavailable
/// or rejecting) release the key, so the caller can retry with it.
/// </para>
/// </summary>
public sealed class IdempotencyFilter(IIdempotencyStore store, IOptions<IdempotencyOptions> options, TimeProvider time) : IEndpointFilter
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotency-Replayed";
    public const int MaxKeyLength = 255;

    private const int MaxStoredBytes = 1 << 20;
    private static readonly TimeSpan WaitStep = TimeSpan.FromMilliseconds(50);
    private static readonly string[] ReplayedHeaders = ["Content-Type", "Location", "Retry-After", "ETag", "Cache-Control"];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var request = http.Request;
        if (!request.Headers.TryGetValue(HeaderName, out var values))
        {
            return await next(context);
        }

        if (values.Count != 1 || ParseKey(values[0]) is not { } key)
        {
            return Problems.Result(StatusCodes.Status400BadRequest, CallerProblems.IdempotencyKeyInvalid,
                $"{HeaderName} must be one value of 1 to {MaxKeyLength} visible ASCII characters (optionally a quoted string).");
        }

        var scope = Scope(http.User.GetCallerId(), key);
        var fingerprint = await FingerprintAsync(request, http.RequestAborted);
        var owner = Guid.NewGuid().ToString("N");
        var settings = options.Value;
        var waitUntil = time.GetUtcNow() + settings.InFlightWait;

        while (true)
        {
            var entry = await store.TryBeginAsync(scope, fingerprint, owner, settings.InFlightTimeout);
            if (entry is null)
            {
                return new RecordingResult(await RunAsync(context, next, scope, owner), store, scope, owner, settings.Retention);
            }

            if (entry.Fingerprint != fingerprint)
            {
                return Problems.Result(StatusCodes.Status422UnprocessableEntity, CallerProblems.IdempotencyKeyReused,
                    $"This {HeaderName} was already used with a different request body; use a new key for a different run.");
            }

            if (entry.Response is { } response)
            {
                return new ReplayResult(response);
            }

            if (time.GetUtcNow() >= waitUntil)
            {
                http.Response.Headers.RetryAfter = "1";
                return Problems.Result(StatusCodes.Status409Conflict, CallerProblems.IdempotencyInFlight,
                    $"A request with this {HeaderName} is still being processed; retry after Retry-After to get its response.");
            }

            await Task.Delay(WaitStep, time, http.RequestAborted);
        }
    }

    /// <summary>The key's value: bare, or a structured-field string (<c>"..."</c>), of visible ASCII only.</summary>
    internal static string? ParseKey(string? value)
    {
        var key = value?.Trim() ?? "";
        if (key.Length >= 2 && key[0] == '"' && key[^1] == '"')
        {
            key = key[1..^1];
        }

        return key.Length is > 0 and <= MaxKeyLength && key.All(c => c is >= '!' and <= '~') ? key : null;
    }

    /// <summary>The caller and key, unambiguously joined (a caller id may contain any character) and hashed to a fixed length.</summary>
    private static string Scope(string callerId, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{callerId.Length.ToString(CultureInfo.InvariantCulture)}:{callerId}:{key}")));

    /// <summary>SHA-256 of the body bytes, left readable for the handler.</summary>
    private static async Task<string> FingerprintAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        var hash = await SHA256.HashDataAsync(request.Body, cancellationToken);
        request.Body.Position = 0;
        return Convert.ToHexStringLower(hash);
    }

    private async Task<object?> RunAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, string scope, string owner)
    {
        try
        {
            return await next(context);
        }
        catch
        {
            await store.ReleaseAsync(scope, owner);
            throw;
        }
    }

    private static bool ShouldKeep(int status, string? code) =>
        status is >= 200 and < 300 || (status == StatusCodes.Status504GatewayTimeout && code == Problems.UpstreamTimeout);

    /// <summary>Executes the handler's result while copying what it writes, then keeps or releases the key.</summary>
    private sealed class RecordingResult(object? inner, IIdempotencyStore store, string scope, string owner, TimeSpan retention) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            var original = response.Body;
            await using var copy = new TeeStream(original, MaxStoredBytes);
            response.Body = copy;
            try
            {
                await ExecuteInnerAsync(httpContext);
                await response.Body.FlushAsync(httpContext.RequestAborted);
            }
            catch
            {
                await store.ReleaseAsync(scope, owner);
                throw;
            }
            finally
            {
                response.Body = original;
            }

            if (!copy.Overflowed && ShouldKeep(response.StatusCode, ProblemCodeOf(inner)))
            {
                var headers = ReplayedHeaders
                    .Where(h => response.Headers.ContainsKey(h))
                    .ToDictionary(h => h, h => response.Headers[h].ToString(), StringComparer.OrdinalIgnoreCase);
                await store.CompleteAsync(scope, owner, new StoredResponse(response.StatusCode, headers, copy.Captured), retention);
            }
            else
            {
                await store.ReleaseAsync(scope, owner);
            }
        }

        private Task ExecuteInnerAsync(HttpContext httpContext) => inner switch
        {
            IResult result => result.ExecuteAsync(httpContext),
            null => Task.CompletedTask,
            _ => httpContext.Response.WriteAsJsonAsync(inner, inner.GetType()),
        };

        private static string? ProblemCodeOf(object? result)
        {
            var value = (result is INestedHttpResult nested ? nested.Result : result) as IValueHttpResult;
            return value?.Value is Microsoft.AspNetCore.Mvc.ProblemDetails problem && problem.Extensions.TryGetValue("code", out var code)
                ? code as string
                : null;
        }
    }

    private sealed class ReplayResult(StoredResponse stored) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = stored.Status;
            foreach (var (name, value) in stored.Headers)
            {
                response.Headers[name] = value;
            }

            response.Headers[ReplayedHeaderName] = "true";
            response.ContentLength = stored.Body.Length;
            await response.Body.WriteAsync(stored.Body, httpContext.RequestAborted);
        }
    }

    /// <summary>Writes through to the response and keeps a copy of up to <c>limit</c> bytes.</summary>
    private sealed class TeeStream(Stream inner, int limit) : Stream
    {
        private readonly MemoryStream _copy = new();

        public bool Overflowed { get; private set; }

        public byte[] Captured => _copy.ToArray();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _copy.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (_copy.Length + bytes.Length > limit)
            {
                Overflowed = true;
                return;
            }

            _copy.Write(bytes);
        }
    }
}

/// <summary>Problem codes of the Callers feature.</summary>
public static class CallerProblems
{
    public const string IdempotencyKeyInvalid = "idempotency_key_invalid";
    public const string IdempotencyKeyReused = "idempotency_key_reused";
    public const string IdempotencyInFlight = "idempotency_request_in_flight";
}
