using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace KimaraGateway.Hosting;

/// <summary>
/// Turns exceptions into problem responses: a caller's bad request is a 4xx naming what was wrong, an unavailable store
/// is a 503 with Retry-After, and anything else is a 500 without a stack trace or internals.
/// </summary>
internal sealed partial class GatewayExceptionHandler(ILogger<GatewayExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        switch (exception)
        {
            case BadHttpRequestException bad:
                var code = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? Problems.PayloadTooLarge : Problems.MalformedRequest;
                await Problems.WriteAsync(httpContext, bad.StatusCode, code, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? "The request body is larger than this endpoint accepts."
                    : "The request could not be read.");
                return true;
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                httpContext.Response.StatusCode = 499;
                return true;
            case RedisException or TimeoutException when exception is RedisException || exception.Source?.Contains("Redis", StringComparison.Ordinal) == true:
                LogStoreUnavailable(logger, exception.GetType().Name);
                httpContext.Response.Headers.RetryAfter = "5";
                await Problems.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable, Problems.StoreUnavailable,
                    "The gateway's run store is unavailable; try again shortly.");
                return true;
            default:
                LogUnexpected(logger, exception);
                await Problems.WriteAsync(httpContext, StatusCodes.Status500InternalServerError, Problems.Unexpected,
                    "An unexpected error occurred; it has been logged with this trace id.");
                return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run store unavailable ({Exception})")]
    private static partial void LogStoreUnavailable(ILogger logger, string exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
