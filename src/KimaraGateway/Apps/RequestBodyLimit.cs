using Microsoft.AspNetCore.Http.Features;

namespace KimaraGateway.Apps;

/// <summary>
/// Holds every request body to <c>Apps:MaxRequestBodyBytes</c> from the first middleware on, so the limit applies to
/// whoever reads the body (submission reader, idempotency fingerprint, quota filter): a declared length over it is a 413
/// at once, and a chunked body fails its read past it. Counted here because not every server enforces
/// <see cref="IHttpMaxRequestBodySizeFeature"/> (the test server does not).
/// </summary>
internal sealed class RequestBodyLimit : IStartupFilter
{
    public static string Detail(long limit) => $"The request body is larger than {Limits.Bytes(limit)} (Apps:MaxRequestBodyBytes).";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            var method = context.Request.Method;
            return HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method)
                ? LimitAsync(context, nextMiddleware)
                : nextMiddleware(context);
        });
        next(app);
    };

    private static async Task LimitAsync(HttpContext context, RequestDelegate next)
    {
        var limit = context.RequestServices.GetRequiredService<AppCatalogue>().Current.Limits.MaxBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, Problems.PayloadTooLarge, Detail(limit));
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        context.Request.Body = new LimitedReadStream(context.Request.Body, limit);
        await next(context);
    }
}

/// <summary>A read-only view of a request body that fails like Kestrel's own limit once more than the limit has been read.</summary>
internal sealed class LimitedReadStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int read)
    {
        _read += read;
        if (_read > limit)
        {
            throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
        }

        return read;
    }
}
