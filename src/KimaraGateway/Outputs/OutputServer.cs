using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace KimaraGateway.Outputs;

/// <summary>
/// Sends a completed run's output: from the store with the framework's file results (Range, If-None-Match, sendfile), or,
/// for a run completed in proxy mode, streamed from Kimara's URL while it is valid.
/// </summary>
public sealed partial class OutputServer(IOutputStore store, OutputFetcher fetcher, TimeProvider time, IOptions<OutputsOptions> options, ILogger<OutputServer> logger)
{
    public const string OutputNotReady = "output_not_ready";
    public const string OutputGone = "output_gone";
    public const string OutputExpired = "output_expired";

    // Stored bytes never change under a run id; private, because they are one caller's.
    private const string ImmutableCaching = "private, max-age=31536000, immutable";

    private static readonly Dictionary<string, string> Extensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["image/png"] = "png",
        ["image/jpeg"] = "jpg",
        ["image/webp"] = "webp",
        ["image/gif"] = "gif",
        ["image/avif"] = "avif",
        ["video/mp4"] = "mp4",
        ["video/webm"] = "webm",
    };

    public async Task<Results<PhysicalFileHttpResult, FileStreamHttpResult, ProxiedOutputResult, ProblemHttpResult>> ServeAsync(
        RunRecord run, HttpContext context, CancellationToken cancellationToken)
    {
        if (run.Status != RunStatus.Completed)
        {
            return Problems.Result(StatusCodes.Status404NotFound, OutputNotReady, "The run has no output (yet).");
        }

        if (run.Output is { } info)
        {
            var content = await store.OpenAsync(run.Id, info, cancellationToken);
            if (content is null)
            {
                return Problems.Result(StatusCodes.Status410Gone, OutputGone, "The output is no longer stored.");
            }

            AddHeaders(context.Response, run.Id, info.ContentType);
            var etag = new EntityTagHeaderValue($"\"{info.Sha256}\"");
            return content.PhysicalPath is { } path
                ? TypedResults.PhysicalFile(path, info.ContentType, lastModified: content.LastModified, entityTag: etag, enableRangeProcessing: true)
                : TypedResults.Stream(content.Stream!, info.ContentType, lastModified: content.LastModified, entityTag: etag, enableRangeProcessing: true);
        }

        if (!Uri.TryCreate(run.UpstreamOutputUrl, UriKind.Absolute, out var url))
        {
            return Problems.Result(StatusCodes.Status404NotFound, OutputNotReady, "The run has no output.");
        }

        return await ProxyAsync(run, url, context, cancellationToken);
    }

    private async Task<Results<PhysicalFileHttpResult, FileStreamHttpResult, ProxiedOutputResult, ProblemHttpResult>> ProxyAsync(
        RunRecord run, Uri url, HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request.Headers;
        using var timeout = new CancellationTokenSource(options.Value.FetchTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        FetchResponse fetched;
        try
        {
            fetched = await fetcher.GetAsync(url, headers =>
            {
                foreach (var name in (string[])[HeaderNames.Range, HeaderNames.IfRange, HeaderNames.IfNoneMatch, HeaderNames.IfModifiedSince])
                {
                    if (request.TryGetValue(name, out var value))
                    {
                        headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
                    }
                }
            }, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            fetched = new FetchResponse(null, new FetchFailure(FetchReasons.Timeout, "Kimara's output host did not answer in time.", Permanent: true));
        }

        if (fetched.Response is { } response)
        {
            AddHeaders(context.Response, run.Id, response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream");
            return new ProxiedOutputResult(response);
        }

        var failure = fetched.Failure!;
        LogProxyFailed(logger, run.Id, failure.Reason, failure.Detail);
        return failure.Reason switch
        {
            FetchReasons.Expired => Problems.Result(StatusCodes.Status410Gone, OutputExpired,
                "Kimara's link to this output has expired; in proxy mode the gateway keeps no copy."),
            FetchReasons.UpstreamError or FetchReasons.ConnectFailed or FetchReasons.Timeout => Problems.Result(StatusCodes.Status502BadGateway, Problems.UpstreamUnavailable,
                "Kimara's output host is unavailable right now; try again later."),
            _ => Problems.Result(StatusCodes.Status502BadGateway, RunErrorCodes.OutputUnavailable, Failures.ForCaller(failure, options.Value)),
        };
    }

    private static void AddHeaders(HttpResponse response, string runId, string contentType)
    {
        var name = runId + "." + (Extensions.TryGetValue(contentType, out var extension) ? extension : "bin");
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("inline") { FileName = name }.ToString();
        response.Headers.CacheControl = ImmutableCaching;
        response.Headers.XContentTypeOptions = "nosniff";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: proxying the output failed ({Reason}): {Detail}")]
    private static partial void LogProxyFailed(ILogger logger, string runId, string reason, string detail);
}

/// <summary>Kimara's answer passed through: status (200, 206, 304, 416), the representation headers, and the body streamed.</summary>
public sealed class ProxiedOutputResult(HttpResponseMessage upstream) : IResult, IStatusCodeHttpResult
{
    private static readonly string[] PassedHeaders =
        [HeaderNames.ContentType, HeaderNames.ContentLength, HeaderNames.ContentRange, HeaderNames.AcceptRanges, HeaderNames.ETag, HeaderNames.LastModified];

    public int? StatusCode => (int)upstream.StatusCode;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (upstream)
        {
            var response = httpContext.Response;
            response.StatusCode = (int)upstream.StatusCode;
            foreach (var (name, values) in upstream.Headers.Concat(upstream.Content.Headers))
            {
                if (PassedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    response.Headers[name] = values.ToArray();
                }
            }

            await using var body = await upstream.Content.ReadAsStreamAsync(httpContext.RequestAborted);
            await body.CopyToAsync(response.Body, httpContext.RequestAborted);
        }
    }
}
