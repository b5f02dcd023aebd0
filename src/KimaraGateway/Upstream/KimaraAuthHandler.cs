using System.Diagnostics;
using System.Net.Http.Headers;

namespace KimaraGateway.Upstream;

/// <summary>Adds the Kimara key and a correlation id to every upstream request, on the server side only.</summary>
internal sealed class KimaraAuthHandler(KimaraEndpoint endpoint) : DelegatingHandler
{
    public const string CorrelationHeader = "X-Correlation-Id";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.ApiKey);
        if (Activity.Current is { } activity && !request.Headers.Contains(CorrelationHeader))
        {
            request.Headers.Add(CorrelationHeader, activity.TraceId.ToHexString());
        }

        return base.SendAsync(request, cancellationToken);
    }
}
