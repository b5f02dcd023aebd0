using System.Buffers.Binary;

namespace KimaraGateway.Apps;

/// <summary>What the bytes of an image really are, read from their structure rather than any name or declared type.</summary>
public sealed record ImageInfo(string ContentType, int Width, int Height);

/// <summary>
/// Identifies PNG, JPEG and WebP from their magic bytes and walks their container structure (chunks, segments) far
/// enough to read the pixel size and to notice a file cut short. Nothing is decompressed: the declared size is
/// checked against the field's limits before anything downstream could inflate the pixels.
/// </summary>
public static class ImageInspector
{
    public const string Png = "image/png";
    public const string Jpeg = "image/jpeg";
    public const string WebP = "image/webp";

    public static readonly IReadOnlyList<string> Supported = [Png, Jpeg, WebP];

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The image's type and size, or a human reason it is not a whole PNG, JPEG or WebP image.</summary>
    public static (ImageInfo? Info, string? Error) Inspect(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith(PngSignature))
        {
            return InspectPng(data);
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return InspectJpeg(data);
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return InspectWebP(data);
        }

        return (null, "is not a PNG, JPEG or WebP image (judged by its content, not its name or declared type)");
    }

    private static (ImageInfo?, string?) InspectPng(ReadOnlySpan<byte> data)
    {
        var offset = PngSignature.Length;
        int width = 0, height = 0;
        var sawData = false;
        var first = true;
        while (true)
        {
            if (data.Length - offset < 12)
            {
                return (null, "is a truncated PNG (it ends before its IEND chunk)");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
            var type = data.Slice(offset + 4, 4);
            if (length > int.MaxValue || data.Length - offset - 12 < length)
            {
                return (null, "is a truncated PNG (a chunk runs past the end of the file)");
            }

            var body = data.Slice(offset + 8, (int)length);
            if (first)
            {
                if (!type.SequenceEqual("IHDR"u8) || length != 13)
                {
                    return (null, "is not a valid PNG (it does not start with an IHDR chunk)");
                }

                var w = BinaryPrimitives.ReadUInt32BigEndian(body);
                var h = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
                if (w is 0 or > int.MaxValue || h is 0 or > int.MaxValue)
                {
                    return (null, "is not a valid PNG (its declared size is zero or out of range)");
                }

                (width, height, first) = ((int)w, (int)h, false);
            }
            else if (type.SequenceEqual("IDAT"u8))
            {
                sawData = true;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                return sawData ? (new ImageInfo(Png, width, height), null) : (null, "is not a valid PNG (it has no image data)");
            }

            offset += 12 + (int)length;
        }
    }

    private static (ImageInfo?, string?) InspectJpeg(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[^2] != 0xFF || data[^1] != 0xD9)
        {
            return (null, "is a truncated JPEG (it does not end with an end-of-image marker)");
        }

        var offset = 2;
        while (offset + 4 <= data.Length)
        {
            if (data[offset] != 0xFF)
            {
                return (null, "is not a valid JPEG (a segment does not start with a marker)");
            }

            var marker = data[offset + 1];
            if (marker == 0xFF)
            {
                offset++;
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                offset += 2;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            if (length < 2 || offset + 2 + length > data.Length)
            {
                return (null, "is a truncated JPEG (a segment runs past the end of the file)");
            }

            // Start-of-frame markers C0–CF, except DHT (C4), JPG (C8) and DAC (CC), carry the frame size.
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (length < 7)
                {
                    return (null, "is not a valid JPEG (its frame header is too short)");
                }

                var height = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 5)..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 7)..]);
                return width == 0 || height == 0
                    ? (null, "is not a valid JPEG (its declared size is zero)")
                    : (new ImageInfo(Jpeg, width, height), null);
            }

            if (marker == 0xDA)
            {
                break;
            }

            offset += 2 + length;
        }

        return (null, "is not a valid JPEG (it has no frame header)");
    }

    private static (ImageInfo?, string?) InspectWebP(ReadOnlySpan<byte> data)
    {
        var riffSize = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (riffSize + 8L > data.Length)
        {
            return (null, "is a truncated WebP (shorter than its RIFF header says)");
        }

        if (riffSize + 8L < data.Length || data.Length < 30)
        {
            return (null, "is not a valid WebP (its length does not match its RIFF header)");
        }

        var chunk = data.Slice(12, 4);
        var body = data[20..];
        int width, height;
        if (chunk.SequenceEqual("VP8X"u8))
        {
            width = 1 + (body[4] | (body[5] << 8) | (body[6] << 16));
            height = 1 + (body[7] | (body[8] << 8) | (body[9] << 16));
        }
        else if (chunk.SequenceEqual("VP8L"u8))
        {
            if (body[0] != 0x2F)
            {
                return (null, "is not a valid WebP (bad lossless signature)");
            }

            var bits = BinaryPrimitives.ReadUInt32LittleEndian(body[1..]);
            width = 1 + (int)(bits & 0x3FFF);
            height = 1 + (int)((bits >> 14) & 0x3FFF);
        }
        else if (chunk.SequenceEqual("VP8 "u8))
        {
            if (body[3] != 0x9D || body[4] != 0x01 || body[5] != 0x2A)
            {
                return (null, "is not a valid WebP (bad lossy frame start code)");
            }

            width = BinaryPrimitives.ReadUInt16LittleEndian(body[6..]) & 0x3FFF;
            height = BinaryPrimitives.ReadUInt16LittleEndian(body[8..]) & 0x3FFF;
        }
        else
        {
            return (null, "is not a valid WebP (unknown first chunk)");
        }

        return width == 0 || height == 0
            ? (null, "is not a valid WebP (its declared size is zero)")
            : (new ImageInfo(WebP, width, height), null);
    }
}
