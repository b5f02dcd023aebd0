using System.Buffers.Binary;
using System.IO.Compression;

namespace Kimara.Simulator.Tests;

/// <summary>A strict little PNG reader: checks the signature, every chunk CRC, the zlib stream and the pixel data length.</summary>
internal static class PngReader
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static (int Width, int Height, byte[] Pixels) Decode(byte[] png)
    {
        Assert.True(png.AsSpan().StartsWith(Signature), "PNG signature");
        var offset = 8;
        var chunks = new List<string>();
        using var idat = new MemoryStream();
        int width = 0, height = 0;
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(Crc32(png.AsSpan(offset + 4, 4 + length)), crc);
            chunks.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                Assert.Equal(2, data[9]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            offset += 12 + length;
        }

        Assert.Equal(png.Length, offset);
        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal("IEND", chunks[^1]);

        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        Assert.Equal((long)height * (1 + (3 * width)), raw.Length);
        Assert.True(Adler32Matches(idat.ToArray(), raw.GetBuffer().AsSpan(0, (int)raw.Length)), "zlib Adler-32");
        return (width, height, raw.ToArray());
    }

    /// <summary>Bitwise CRC-32, written independently of the simulator's table-driven one.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var value in data)
        {
            crc ^= value;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }

        return ~crc;
    }

    /// <summary>Checks the trailing Adler-32 of a zlib stream ourselves rather than trusting the inflater to.</summary>
    private static bool Adler32Matches(byte[] zlibStream, ReadOnlySpan<byte> raw)
    {
        uint a = 1, b = 0;
        foreach (var value in raw)
        {
            a = (a + value) % 65521;
            b = (b + a) % 65521;
        }

        return BinaryPrimitives.ReadUInt32BigEndian(zlibStream.AsSpan(zlibStream.Length - 4)) == ((b << 16) | a);
    }
}
