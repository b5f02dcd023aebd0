using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace KimaraGateway.Tests.Apps;

/// <summary>Real image bytes made in the test, and the broken and hostile ones the gateway must refuse.</summary>
public static class TestImages
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>A valid RGB PNG; with <paramref name="exactBytes"/>, padded with a text chunk to exactly that length.</summary>
    public static byte[] Png(int width, int height, int? exactBytes = null)
    {
        var raw = new byte[height * (1 + width * 3)];
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = (byte)(i * 31);
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        return PngFrom(width, height, compressed.ToArray(), exactBytes);
    }

    /// <summary>A PNG whose header declares <paramref name="width"/>×<paramref name="height"/> over a few KB of data that inflates to megabytes.</summary>
    public static byte[] DecompressionBomb(int width, int height)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(new byte[16 * 1024 * 1024]);
        }

        return PngFrom(width, height, compressed.ToArray(), null);
    }

    public static byte[] Truncated(byte[] image, int keep) => image[..keep];

    /// <summary>A minimal baseline JPEG: SOI, JFIF, a frame header with the size, a scan header, a few bytes, EOI.</summary>
    public static byte[] Jpeg(int width, int height)
    {
        var bytes = new List<byte> { 0xFF, 0xD8 };
        bytes.AddRange([0xFF, 0xE0, 0x00, 0x10, .. "JFIF\0"u8, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
        bytes.AddRange([0xFF, 0xC0, 0x00, 0x11, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width,
            0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
        bytes.AddRange([0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]);
        bytes.AddRange([0x12, 0x34, 0x56, 0x78, 0xFF, 0xD9]);
        return [.. bytes];
    }

    /// <summary>A lossless WebP header (VP8L) declaring the size.</summary>
    public static byte[] WebP(int width, int height)
    {
        var payload = new byte[10];
        payload[0] = 0x2F;
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(1), (uint)((width - 1) | ((height - 1) << 14)));
        var file = new byte[12 + 8 + payload.Length];
        "RIFF"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), (uint)(file.Length - 8));
        "WEBP"u8.CopyTo(file.AsSpan(8));
        "VP8L"u8.CopyTo(file.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(16), (uint)payload.Length);
        payload.CopyTo(file.AsSpan(20));
        return file;
    }

    /// <summary>The start of a Windows executable: what a renamed <c>setup.exe</c> uploaded as <c>photo.png</c> looks like.</summary>
    public static byte[] Executable() => [.. "MZ"u8, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF, .. new byte[200]];

    public static string DataUri(byte[] bytes, string type = "image/png") => $"data:{type};base64,{Convert.ToBase64String(bytes)}";

    private static byte[] PngFrom(int width, int height, byte[] idat, int? exactBytes)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = 8;
        header[9] = 2;
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", idat);
        if (exactBytes is { } exact)
        {
            // A tEXt chunk costs 12 bytes plus its text; IEND costs 12.
            var padding = exact - (int)png.Length - 12 - 12;
            if (padding < 2)
            {
                throw new ArgumentOutOfRangeException(nameof(exactBytes), "Too small for this image.");
            }

            Chunk(png, "tEXt", [.. "c\0"u8, .. Enumerable.Repeat((byte)'x', padding - 2)]);
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
        png.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        png.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
