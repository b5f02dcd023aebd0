using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

/// <summary>A CDN on loopback that serves one PNG for every output path: with Range and ETag like a real CDN, or chunked.</summary>
internal sealed class RangeCdn : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RangeCdn(WebApplication app, Uri baseAddress, byte[] bytes)
    {
        _app = app;
        BaseAddress = baseAddress;
        Bytes = bytes;
    }

    public Uri BaseAddress { get; }

    public byte[] Bytes { get; }

    /// <summary>With <paramref name="chunked"/>, the body is sent without Content-Length, so only a counting reader can cap it.</summary>
    public static async Task<RangeCdn> StartAsync(bool chunked = false)
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        if (chunked)
        {
            app.MapGet("/cdn/outputs/{name}", async (HttpContext context) =>
            {
                context.Response.ContentType = "image/png";
                for (var offset = 0; offset < bytes.Length; offset += 8192)
                {
                    await context.Response.Body.WriteAsync(bytes.AsMemory(offset, Math.Min(8192, bytes.Length - offset)));
                    await context.Response.Body.FlushAsync();
                }
            });
        }
        else
        {
            app.MapGet("/cdn/outputs/{name}", () => Results.Bytes(bytes, "image/png", entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"cdn-v1\""), enableRangeProcessing: true));
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RangeCdn(app, new Uri(address), bytes);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
