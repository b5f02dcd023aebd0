using System.Net;
using System.Net.Sockets;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// Real HTTP clients for gateways on Kestrel, each connecting from a chosen loopback address (Linux routes all of
/// 127.0.0.0/8 to lo), so a test can tell the client, the proxy and the gateway apart by address alone.
/// </summary>
public static class LoopbackClients
{
    public static readonly IPAddress Client = IPAddress.Parse("127.0.0.3");

    /// <summary>A client from <paramref name="source"/> to <paramref name="baseAddress"/>, its responses scanned for <paramref name="secret"/>.</summary>
    public static HttpClient Create(Uri baseAddress, IPAddress source, string secret, LogCapture logs, string? apiKey = null)
    {
        var socketHandler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(new SecretLeakCheck(secret, logs) { InnerHandler = socketHandler }) { BaseAddress = baseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }
}
