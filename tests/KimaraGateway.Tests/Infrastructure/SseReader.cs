using System.Text;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>One Server-Sent Event as the client saw it, or a comment line (heartbeat) when <see cref="Comment"/> is set.</summary>
public sealed record SseEvent(string? Id, string? Event, string Data, string? Comment = null)
{
    public bool IsComment => Comment is not null;
}

/// <summary>
/// Reads an event stream as a browser's EventSource would, and scans every line for the Kimara key the way
/// <see cref="SecretLeakCheck"/> scans buffered bodies (it leaves event streams to this reader).
/// </summary>
public sealed class SseReader(HttpResponseMessage response, string secret) : IAsyncDisposable
{
    private StreamReader? _reader;

    /// <summary>The next event or comment, or null when the server ended the stream.</summary>
    public async Task<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        _reader ??= new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        string? id = null, name = null;
        var data = new StringBuilder();
        var any = false;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseEvent(id, name, data.ToString());
                }

                continue;
            }

            if (line[0] == ':')
            {
                return new SseEvent(null, null, "", line[1..].Trim());
            }

            any = true;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    name = value;
                    break;
                case "data":
                    data.Append(data.Length > 0 ? "\n" : "").Append(value);
                    break;
            }
        }

        return null;
    }

    /// <summary>Every event (not comment) until the server ends the stream, failing after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<SseEvent>> ReadToEndAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var events = new List<SseEvent>();
        while (await ReadAsync(cts.Token) is { } e)
        {
            if (!e.IsComment)
            {
                events.Add(e);
            }
        }

        return events;
    }

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        response.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Opening event streams through a leak-checked client.</summary>
public static class SseClientExtensions
{
    /// <summary>Opens <c>/runs/{id}/events</c> and returns once the response headers arrived.</summary>
    public static async Task<HttpResponseMessage> OpenEventsAsync(this HttpClient client, string runId, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{runId}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
