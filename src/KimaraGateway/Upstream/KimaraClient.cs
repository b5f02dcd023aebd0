using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using KimaraGateway.Hosting;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Refit;

namespace KimaraGateway.Upstream;

/// <summary>What became of an upstream call, in the terms the gateway acts on.</summary>
public enum UpstreamOutcome
{
    /// <summary>Kimara answered with a run.</summary>
    Ok,

    /// <summary>Kimara refused the request for good (4xx other than 429); nothing was started.</summary>
    Rejected,

    /// <summary>Kimara answered 404 for a run.</summary>
    NotFound,

    /// <summary>Kimara answered 429; try again after <see cref="UpstreamResult.RetryAfter"/>.</summary>
    RateLimited,

    /// <summary>Kimara could not be reached or answered 5xx, or the circuit is open; nothing was started.</summary>
    Unavailable,

    /// <summary>The request may have reached Kimara but no answer came back (timeout, dropped connection).</summary>
    Unknown,
}

public sealed record UpstreamResult(UpstreamOutcome Outcome, KimaraRun? Run = null, TimeSpan? RetryAfter = null, int? StatusCode = null, string? Reason = null)
{
    public bool IsOk => Outcome == UpstreamOutcome.Ok && Run is not null;
}

/// <summary>Calls Kimara through the Refit client and folds every way a call can end into an <see cref="UpstreamResult"/>.</summary>
/// <remarks>
/// The Refit client is resolved per call: it is a typed HttpClient (transient, handlers pooled and rotated by the factory),
/// and its base address is known only once the host has started.
/// </remarks>
public sealed partial class KimaraClient(
    IServiceProvider services,
    GatewayMetrics metrics,
    KimaraReachability reachability,
    TimeProvider time,
    ILogger<KimaraClient> logger)
{
    public const string CircuitOpenReason = "circuit_open";

    private IKimaraApi Api => services.GetRequiredService<IKimaraApi>();

    public Task<UpstreamResult> SubmitAsync(KimaraSubmitRequest request, CancellationToken cancellationToken) =>
        CallAsync("POST /runs", () => Api.SubmitRunAsync(request, cancellationToken), isSubmit: true, cancellationToken);

    public Task<UpstreamResult> GetRunAsync(string upstreamId, CancellationToken cancellationToken) =>
        CallAsync("GET /runs/{id}", () => Api.GetRunAsync(upstreamId, cancellationToken), isSubmit: false, cancellationToken);

    private async Task<UpstreamResult> CallAsync(string route, Func<Task<IApiResponse<KimaraRun>>> call, bool isSubmit, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var result = await CallUnobservedAsync(route, call, isSubmit, cancellationToken);
        metrics.UpstreamCall(route, result.StatusCode, JsonNamingPolicy.SnakeCaseLower.ConvertName(result.Outcome.ToString()), result.Reason, time.GetElapsedTime(started));
        reachability.Observe(result);
        return result;
    }

    private async Task<UpstreamResult> CallUnobservedAsync(string route, Func<Task<IApiResponse<KimaraRun>>> call, bool isSubmit, CancellationToken cancellationToken)
    {
        Exception failure;
        try
        {
            using var response = await call();
            // Refit hands transport failures (open circuit, refused or dropped connection, timeout) back on the response.
            if (response.Error is not ApiRequestException { InnerException: { } transport })
            {
                return Classify(route, response, isSubmit);
            }

            failure = transport;
        }
        catch (Exception ex) when (ex is BrokenCircuitException or HttpRequestException or TimeoutRejectedException or TaskCanceledException or IOException)
        {
            failure = ex;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return FromTransportFailure(route, failure, isSubmit);
    }

    private UpstreamResult FromTransportFailure(string route, Exception failure, bool isSubmit)
    {
        switch (failure)
        {
            case BrokenCircuitException broken:
                LogUpstreamFailure(logger, route, "circuit open");
                return new UpstreamResult(UpstreamOutcome.Unavailable, RetryAfter: broken.RetryAfter ?? TimeSpan.FromSeconds(5), Reason: CircuitOpenReason);
            case HttpRequestException http when IsNotSent(http):
                LogUpstreamFailure(logger, route, http.HttpRequestError.ToString());
                return new UpstreamResult(UpstreamOutcome.Unavailable, Reason: "unreachable");
            default:
                LogUpstreamFailure(logger, route, failure.GetType().Name);
                // A GET can be asked again; a POST that may have been received cannot, or Kimara runs (and bills) it twice.
                return new UpstreamResult(isSubmit ? UpstreamOutcome.Unknown : UpstreamOutcome.Unavailable,
                    Reason: failure is HttpRequestException or IOException ? "connection_lost" : "timeout");
        }
    }

    private UpstreamResult Classify(string route, IApiResponse<KimaraRun> response, bool isSubmit)
    {
        var status = (int?)response.StatusCode ?? 0;
        if (response.IsSuccessful && response.Content is { Id.Length: > 0, Status.Length: > 0 } run)
        {
            return new UpstreamResult(UpstreamOutcome.Ok, run, StatusCode: status);
        }

        LogUpstreamStatus(logger, route, status);
        var retryAfter = RetryAfterOf(response);
        return response.StatusCode switch
        {
            // A success status with an unreadable body: a submit did start a run whose id we cannot know.
            _ when response.IsSuccessStatusCode => new UpstreamResult(isSubmit ? UpstreamOutcome.Unknown : UpstreamOutcome.Unavailable, StatusCode: status, Reason: "malformed_response"),
            HttpStatusCode.TooManyRequests => new UpstreamResult(UpstreamOutcome.RateLimited, RetryAfter: retryAfter ?? TimeSpan.FromSeconds(2), StatusCode: status),
            HttpStatusCode.NotFound => new UpstreamResult(UpstreamOutcome.NotFound, StatusCode: status),
            >= HttpStatusCode.InternalServerError => new UpstreamResult(UpstreamOutcome.Unavailable, RetryAfter: retryAfter, StatusCode: status, Reason: "upstream_error"),
            _ => new UpstreamResult(UpstreamOutcome.Rejected, StatusCode: status, Reason: "upstream_rejected"),
        };
    }

    private static TimeSpan? RetryAfterOf(IApiResponse response)
    {
        var header = response.Headers?.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? date - DateTimeOffset.UtcNow : null;
    }

    // Connection refused or name resolution failure: the request never left, so even a POST is safe to report as not started.
    private static bool IsNotSent(HttpRequestException ex) =>
        ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
        && ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.TryAgain or SocketError.NetworkUnreachable or SocketError.HostUnreachable };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kimara call {Route} failed: {Reason}")]
    private static partial void LogUpstreamFailure(ILogger logger, string route, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kimara call {Route} answered {StatusCode}")]
    private static partial void LogUpstreamStatus(ILogger logger, string route, int statusCode);
}
