using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>The answer to a fetch: a response whose headers are read and whose body is still to be streamed, or why there is none.</summary>
public sealed record FetchResponse(HttpResponseMessage? Response, FetchFailure? Failure);

/// <summary>
/// GETs output URLs under <see cref="OutputFetchPolicy"/>: redirects followed by hand, each hop checked like the first,
/// status, content type and declared size checked before any body byte is read. An upstream error body is never read,
/// so it can never reach a caller.
/// </summary>
public sealed class OutputFetcher(IHttpClientFactory clients, OutputFetchPolicy policy, IOptions<OutputsOptions> options)
{
    public const string HttpClientName = "outputs";

    /// <summary>Sends the GET; <paramref name="prepare"/> may add request headers (Range, conditionals) for every hop.</summary>
    public async Task<FetchResponse> GetAsync(Uri url, Action<HttpRequestHeaders>? prepare, CancellationToken cancellationToken)
    {
        var client = clients.CreateClient(HttpClientName);
        var o = options.Value;
        for (var hop = 0; ; hop++)
        {
            if (policy.CheckUrl(url) is { } refused)
            {
                return new FetchResponse(null, hop == 0 ? refused : refused with { Reason = FetchReasons.RedirectRefused, Detail = "Redirected: " + refused.Detail });
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            prepare?.Invoke(request.Headers);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException ex) when (FindRefusal(ex) is { } address)
            {
                return new FetchResponse(null, Failures.Refused(FetchReasons.AddressRefused, address.Message));
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
            {
                return new FetchResponse(null, new FetchFailure(FetchReasons.ConnectFailed, $"Could not reach the output host: {ex.Message}", Permanent: false));
            }

            if (IsRedirect(response.StatusCode) && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (hop >= o.MaxRedirects)
                {
                    return new FetchResponse(null, Failures.Refused(FetchReasons.TooManyRedirects, $"More than {o.MaxRedirects} redirects."));
                }

                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                continue;
            }

            var failure = Check(response, o);
            if (failure is not null)
            {
                response.Dispose();
                return new FetchResponse(null, failure);
            }

            return new FetchResponse(response, null);
        }
    }

    private static FetchFailure? Check(HttpResponseMessage response, OutputsOptions o)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode is HttpStatusCode.NotModified or HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return null;
        }

        if (status is < 200 or > 299)
        {
            return status switch
            {
                403 or 404 or 410 => new FetchFailure(FetchReasons.Expired, $"The output URL answered {status}: expired or gone.", Permanent: true),
                408 or 429 or >= 500 => new FetchFailure(FetchReasons.UpstreamError, $"The output host answered {status}.", Permanent: false),
                _ => new FetchFailure(FetchReasons.UpstreamRefused, $"The output host answered {status}.", Permanent: true),
            };
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || !o.EffectiveContentTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return new FetchFailure(FetchReasons.ContentTypeRefused, $"The output has content type '{mediaType ?? "(none)"}', which is not in Outputs:AllowedContentTypes.", Permanent: true);
        }

        if (response.Content.Headers.ContentLength > o.MaxBytes)
        {
            return Failures.TooLarge(o.MaxBytes);
        }

        return null;
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

    private static OutputAddressRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is OutputAddressRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }
}

internal static class Failures
{
    public static FetchFailure Refused(string reason, string detail) => new(reason, detail, Permanent: true);

    public static FetchFailure TooLarge(long max) =>
        new(FetchReasons.TooLarge, $"The output is larger than Outputs:MaxBytes ({max} bytes).", Permanent: true);

    /// <summary>What a caller may read about a failure: clear, without the hosts and addresses the log keeps.</summary>
    public static string ForCaller(FetchFailure failure, OutputsOptions o) => failure.Reason switch
    {
        FetchReasons.TooLarge => $"The output is larger than the gateway accepts ({o.MaxBytes} bytes).",
        FetchReasons.ContentTypeRefused => "The output's content type is not one the gateway accepts.",
        FetchReasons.Timeout => $"Fetching the output took longer than {o.FetchTimeout}; the upstream was too slow.",
        FetchReasons.Expired => "Kimara's link to the output had expired or was refused before the gateway could fetch it.",
        FetchReasons.UpstreamRefused => "Kimara's output host refused the download.",
        FetchReasons.UnexpectedStatus => "Kimara's output host did not send the whole output.",
        FetchReasons.MissingUrl => "Kimara reported the run completed without an output URL.",
        FetchReasons.UpstreamError or FetchReasons.ConnectFailed or FetchReasons.Truncated => $"The output could not be fetched from Kimara within {o.GiveUpAfter}.",
        FetchReasons.StoreFailed => $"The gateway could not store the output within {o.GiveUpAfter}.",
        _ => "The output is hosted where the gateway is not allowed to fetch from (see Outputs:AllowedHosts).",
    };
}
