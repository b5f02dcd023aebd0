namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// The one shared check every integration test's HTTP client runs through: no response header or body, and no log line
/// written so far, may contain the Kimara key. A leak fails the test that caused it.
/// </summary>
public sealed class SecretLeakCheck(string secret, LogCapture logs) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var headers = response.Headers.Concat(response.Content.Headers).SelectMany(h => h.Value.Select(v => $"{h.Key}: {v}"));
        Assert.DoesNotContain(headers, h => h.Contains(secret, StringComparison.Ordinal));

        // Event streams are scanned as they are read (see SseReader); everything else is buffered here.
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        }

        Assert.False(logs.Contains(secret), "A log line contains the Kimara key.");
        return response;
    }
}
