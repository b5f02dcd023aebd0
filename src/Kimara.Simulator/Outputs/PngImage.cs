using System.Buffers.Binary;
using System.IO.Compression;

namespace Kimara.Simulator.Outputs;

/// <summary>Receives consecutive pieces of a file; the memory is reused after the returned task completes.</summary>
internal delegate ValueTask ByteSink(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

/// <summary>
/// A valid RGB PNG whose pixels follow from a seed. Small images are deflated in memory; sized images use
/// stored (uncompressed) deflate blocks so their exact length is known up front and they stream row by row
/// without ever holding the whole file.
/// </summary>
internal sealed class PngImage
{
    private const int MaxStoredBlock = 65_535;
    private const int ChunkOverhead = 12;
    private const long MaxBytes = 256L * 1024 * 1024;
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly Painter _painter;
    private readonly byte[]? _compressed;
    private readonly int _padding;

    private PngImage(Painter painter, byte[]? compressed, int padding, long length)
    {
        _painter = painter;
        _compressed = compressed;
        _padding = padding;
        Length = length;
    }

    public long Length { get; }

    public int Width => _painter.Width;

    public int Height => _painter.Height;

    /// <summary>A compressed image of the given size, built in memory (meant for sizes up to a few megapixels).</summary>
    public static PngImage Natural(byte[] seed, int width, int height)
    {
        var painter = new Painter(seed, width, height);
        using var idat = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[painter.RowBytes];
            for (var y = 0; y < height; y++)
            {
                painter.Paint(y, row);
                zlib.Write(row);
            }
        }

        using var file = new MemoryStream();
        file.Write(Signature);
        WriteChunk(file, "IHDR"u8, Ihdr(width, height));
        WriteChunk(file, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(file, "IEND"u8, []);
        var bytes = file.ToArray();
        return new PngImage(painter, bytes, 0, bytes.Length);
    }

    /// <summary>An image of about <paramref name="targetBytes"/> bytes (exactly, when a padding chunk fits).</summary>
    public static PngImage Sized(byte[] seed, long targetBytes)
    {
        var target = Math.Clamp(targetBytes, 100, MaxBytes);
        var rawEstimate = Math.Max(4, target - 75 - (17 * ((target / MaxStoredBlock) + 1)));
        var width = (int)Math.Clamp(Math.Sqrt(rawEstimate / 3.0), 1, 4096);
        var rowBytes = 1 + (3L * width);
        var height = (int)Math.Max(1, rawEstimate / rowBytes);
        var length = StoredLength(width, height);
        while (height > 1 && length > target)
        {
            height--;
            length = StoredLength(width, height);
        }

        // A tEXt chunk ("Comment\0" + spaces) takes up the rest, so the size is exact whenever 20+ bytes remain.
        var padding = target - length >= 20 ? (int)(target - length - ChunkOverhead) : 0;
        if (padding > 0)
            length += ChunkOverhead + padding;
        return new PngImage(new Painter(seed, width, height), null, padding, length);
    }

    public async Task WriteToAsync(ByteSink sink, CancellationToken cancellationToken)
    {
        if (_compressed is not null)
        {
            for (var offset = 0; offset < _compressed.Length; offset += MaxStoredBlock)
                await sink(_compressed.AsMemory(offset, Math.Min(MaxStoredBlock, _compressed.Length - offset)), cancellationToken);
            return;
        }

        await WriteStoredAsync(sink, cancellationToken);
    }

    private static long StoredLength(int width, int height)
    {
        var raw = (1 + (3L * width)) * height;
        var blocks = (raw + MaxStoredBlock - 1) / MaxStoredBlock;
        // signature + IHDR + IDAT(zlib header) + one IDAT per stored block + IDAT(adler32) + IEND
        return 8 + (ChunkOverhead + 13) + (ChunkOverhead + 2) + (blocks * (ChunkOverhead + 5)) + raw + (ChunkOverhead + 4) + ChunkOverhead;
    }

    private async Task WriteStoredAsync(ByteSink sink, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkOverhead + 5 + MaxStoredBlock];

        var head = new MemoryStream();
        head.Write(Signature);
        WriteChunk(head, "IHDR"u8, Ihdr(Width, Height));
        if (_padding > 0)
        {
            var text = new byte[_padding];
            "Comment\0"u8.CopyTo(text);
            text.AsSpan(8).Fill((byte)' ');
            WriteChunk(head, "tEXt"u8, text);
        }

        // zlib header: deflate, 32K window, no preset dictionary, "fastest" level bits; 0x7801 % 31 == 0.
        WriteChunk(head, "IDAT"u8, [0x78, 0x01]);
        await sink(head.GetBuffer().AsMemory(0, (int)head.Length), cancellationToken);

        var raw = (long)_painter.RowBytes * Height;
        var row = new byte[_painter.RowBytes];
        var rowOffset = row.Length;
        var y = 0;
        var adler = new Adler32();
        for (long done = 0; done < raw;)
        {
            var length = (int)Math.Min(MaxStoredBlock, raw - done);
            var data = buffer.AsSpan(8 + 5, length);
            for (var filled = 0; filled < length;)
            {
                if (rowOffset == row.Length)
                {
                    _painter.Paint(y++, row);
                    rowOffset = 0;
                }

                var take = Math.Min(row.Length - rowOffset, length - filled);
                row.AsSpan(rowOffset, take).CopyTo(data[filled..]);
                rowOffset += take;
                filled += take;
            }

            adler.Update(data);
            done += length;

            var chunk = buffer.AsSpan(0, ChunkOverhead + 5 + length);
            BinaryPrimitives.WriteInt32BigEndian(chunk, 5 + length);
            "IDAT"u8.CopyTo(chunk[4..]);
            chunk[8] = (byte)(done == raw ? 1 : 0);
            BinaryPrimitives.WriteUInt16LittleEndian(chunk[9..], (ushort)length);
            BinaryPrimitives.WriteUInt16LittleEndian(chunk[11..], (ushort)~length);
            BinaryPrimitives.WriteUInt32BigEndian(chunk[^4..], Crc32.Compute(chunk[4..^4]));
            await sink(buffer.AsMemory(0, chunk.Length), cancellationToken);
        }

        var tail = new MemoryStream();
        var checksum = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(checksum, adler.Value);
        WriteChunk(tail, "IDAT"u8, checksum);
        WriteChunk(tail, "IEND"u8, []);
        await sink(tail.GetBuffer().AsMemory(0, (int)tail.Length), cancellationToken);
    }

    private static byte[] Ihdr(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: truecolour RGB
        return ihdr;
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[ChunkOverhead + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        type.CopyTo(chunk.AsSpan(4));
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4 + data.Length)));
        stream.Write(chunk);
    }

    /// <summary>A diagonal two-colour gradient with a checker overlay, all picked from the seed.</summary>
    private sealed class Painter(byte[] seed, int width, int height)
    {
        private readonly int _cell = 8 << (seed[6] % 4);

        public int Width { get; } = width;

        public int Height { get; } = height;

        public int RowBytes => 1 + (3 * Width);

        public void Paint(int y, Span<byte> row)
        {
            row[0] = 0; // filter: none
            var v = Height > 1 ? y * 255 / (Height - 1) : 0;
            var cellY = y / _cell;
            for (var x = 0; x < Width; x++)
            {
                var u = Width > 1 ? x * 255 / (Width - 1) : 0;
                var mix = (u + v) / 2;
                var accent = ((x / _cell) + cellY) % 2 == 0 ? seed[7] % 48 : 0;
                var p = 1 + (3 * x);
                row[p] = (byte)(((seed[0] * (255 - mix)) + (seed[3] * mix)) / 255 ^ accent);
                row[p + 1] = (byte)(((seed[1] * (255 - mix)) + (seed[4] * mix)) / 255 ^ accent);
                row[p + 2] = (byte)(((seed[2] * (255 - mix)) + (seed[5] * mix)) / 255 ^ accent);
            }
        }
    }
}

/// <summary>CRC-32 (ISO 3309, as PNG uses it); the shared framework has no System.IO.Hashing.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }

        return table;
    }
}

/// <summary>Running Adler-32 over the uncompressed zlib payload.</summary>
internal sealed class Adler32
{
    private const uint Modulus = 65_521;
    private uint _a = 1;
    private uint _b;

    public uint Value => (_b << 16) | _a;

    public void Update(ReadOnlySpan<byte> data)
    {
        // 5552 is the largest run that cannot overflow 32 bits before the modulo (zlib's NMAX).
        while (!data.IsEmpty)
        {
            var run = data[..Math.Min(5552, data.Length)];
            foreach (var b in run)
            {
                _a += b;
                _b += _a;
            }

            _a %= Modulus;
            _b %= Modulus;
            data = data[run.Length..];
        }
    }
}
