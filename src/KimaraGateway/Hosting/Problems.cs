using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace KimaraGateway;

/// <summary>
/// RFC 9457 problem responses with a stable <c>type</c> (<c>urn:kimara-gateway:problem:{code}</c>) and <c>code</c> per kind of error.
/// </summary>
public static class Problems
{
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string RunNotFound = "run_not_found";
    public const string AppNotFound = "app_not_found";
    public const string ValidationFailed = "validation_failed";
    public const string MalformedRequest = "malformed_request";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UpstreamRejected = "upstream_rejected";
    public const string UpstreamTimeout = "upstream_timeout";
    public const string StoreUnavailable = "store_unavailable";
    public const string RateLimited = "rate_limited";
    public const string Conflict = "conflict";
    public const string Unexpected = "unexpected";

    public static string TypeOf(string code) => "urn:kimara-gateway:problem:" + code;

    public static ProblemDetails Create(int status, string code, string detail, string? title = null) => new()
    {
        Status = status,
        Type = TypeOf(code),
        Title = title ?? ReasonPhrase(status),
        Detail = detail,
        Extensions = { ["code"] = code },
    };

    public static ProblemHttpResult Result(int status, string code, string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = Create(status, code, detail);
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        return TypedResults.Problem(problem);
    }

    /// <summary>A 400 naming every bad field, e.g. <c>inputs.steps</c>.</summary>
    public static ValidationProblem Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, detail: "One or more fields are invalid; see errors.", type: TypeOf(ValidationFailed),
            extensions: new Dictionary<string, object?> { ["code"] = ValidationFailed });

    /// <summary>A 503 that tells the caller when to try again.</summary>
    public static ProblemHttpResult Unavailable(HttpContext context, string code, string detail, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Result(StatusCodes.Status503ServiceUnavailable, code, detail);
    }

    /// <summary>Writes a problem outside an endpoint (authentication, middleware).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.StatusCode = status;
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = Create(status, code, detail) });
    }

    /// <summary>Adds the trace id and, where missing, a code to every problem the framework or the gateway writes.</summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Extensions["trace_id"] = Activity.Current?.TraceId.ToHexString() ?? context.HttpContext.TraceIdentifier;
        if (!problem.Extensions.ContainsKey("code"))
        {
            var code = problem.Status switch
            {
                StatusCodes.Status400BadRequest => MalformedRequest,
                StatusCodes.Status401Unauthorized => Unauthorized,
                StatusCodes.Status403Forbidden => Forbidden,
                StatusCodes.Status404NotFound => NotFound,
                StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
                StatusCodes.Status413PayloadTooLarge => PayloadTooLarge,
                StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
                StatusCodes.Status429TooManyRequests => RateLimited,
                _ => Unexpected,
            };
            problem.Extensions["code"] = code;
            problem.Type = TypeOf(code);
        }
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
