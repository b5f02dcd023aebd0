using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Apps;

/// <summary>Image inputs are judged by their bytes, and hostile ones are refused without being held whole in memory.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ImageInputTests(GatewayFixture fixture)
{
    public static TheoryData<string, byte[], string> Refused => new()
    {
        { "a renamed .exe", TestImages.Executable(), "is not a PNG, JPEG or WebP image" },
        { "a truncated PNG", TestImages.Truncated(TestImages.Png(64, 64), 60), "truncated PNG" },
        { "a PNG cut before IEND", TestImages.Truncated(TestImages.Png(8, 8), TestImages.Png(8, 8).Length - 12), "truncated PNG" },
        { "a truncated JPEG", TestImages.Truncated(TestImages.Jpeg(64, 64), 30), "truncated JPEG" },
        { "a truncated WebP", TestImages.Truncated(TestImages.WebP(64, 64), 26), "truncated WebP" },
        { "a decompression bomb", TestImages.DecompressionBomb(30000, 30000), "30000×30000 pixels" },
        { "an empty file", [], "is not a PNG, JPEG or WebP image" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Post_Runs_Refuses_An_Upload_That_Is_Not_A_Whole_Image_Within_Limits(string name, byte[] bytes, string reason)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.PostAsync("/runs", Upload("upscaler", bytes, "photo.png", "image/png"));

        var problem = await AppsHttp.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        var message = Assert.Single(problem["errors"]!["inputs.image"]!.AsArray())!.GetValue<string>();
        Assert.True(message.Contains(reason, StringComparison.Ordinal), $"{name}: {message}");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Post_Runs_Refuses_The_Same_Images_As_Data_Uris(string name, byte[] bytes, string reason)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        using var response = await client.PostRunAsync("upscaler", new JsonObject { ["image"] = TestImages.DataUri(bytes) });

        var problem = await AppsHttp.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        var message = Assert.Single(problem["errors"]!["inputs.image"]!.AsArray())!.GetValue<string>();
        Assert.True(message.Contains(reason, StringComparison.Ordinal) || bytes.Length == 0, $"{name}: {message}");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [InlineData("image/png")]
    [InlineData("image/jpeg")]
    [InlineData("image/webp")]
    public async Task Post_Runs_Accepts_Each_Supported_Image_Type_Whatever_The_Upload_Says(string type)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var bytes = type switch
        {
            "image/png" => TestImages.Png(32, 32),
            "image/jpeg" => TestImages.Jpeg(800, 600),
            _ => TestImages.WebP(300, 200),
        };
        var receivedBefore = (await fixture.Upstream.ReceivedAsync()).Count;

        using var response = await client.PostAsync("/runs", Upload("upscaler", bytes, "upload.bin", "application/octet-stream"));

        await AppsHttp.AssertAcceptedAsync(response);
        var received = (await fixture.Upstream.ReceivedAsync())[receivedBefore];
        Assert.Equal(TestImages.DataUri(bytes, type), received["inputs"]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_Runs_Refuses_An_Image_Over_The_Field_Size_Limit()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var postsBefore = await fixture.Upstream.PostCountAsync();
        var big = TestImages.Png(16, 16, exactBytes: 10 * 1024 * 1024 + 1);

        using var response = await client.PostAsync("/runs", Upload("upscaler", big, "big.png", "image/png"));

        var problem = await AppsHttp.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("larger than 10 MiB", problem["errors"]!["inputs.image"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_Runs_Stops_Reading_A_200_MB_Upload_At_The_Body_Limit_And_Answers_413(bool withIdempotencyKey)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        if (withIdempotencyKey)
        {
            // Whatever reads the body first (here the idempotency fingerprint) meets the same limit.
            client.DefaultRequestHeaders.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        }

        var postsBefore = await fixture.Upstream.PostCountAsync();
        const long size = 200L * 1024 * 1024;
        await using var source = new GeneratedStream(TestImages.Png(16, 16), size);
        using var form = new MultipartFormDataContent { { new StringContent("upscaler"), "app_id" } };
        var file = new StreamContent(source);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "huge.png");

        using var response = await client.PostAsync("/runs", form);

        await AppsHttp.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.True(source.Served < size / 4, $"The gateway read {source.Served} of {size} bytes before refusing.");
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    private static MultipartFormDataContent Upload(string appId, byte[] bytes, string fileName, string contentType)
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new MultipartFormDataContent { { new StringContent(appId), "app_id" }, { file, "image", fileName } };
    }

    /// <summary>A long upload made on the fly (a real PNG start, then filler), counting how much of it was read. Its length is unknown to the client, so it goes chunked.</summary>
    private sealed class GeneratedStream(byte[] start, long length) : Stream
    {
        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Served; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - Served);
            for (var i = 0; i < n; i++)
            {
                var at = Served + i;
                buffer[offset + i] = at < start.Length ? start[at] : (byte)'x';
            }

            Served += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
