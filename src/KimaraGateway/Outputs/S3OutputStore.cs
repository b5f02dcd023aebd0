using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using KimaraGateway.Runs;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>
/// Outputs in an S3-compatible bucket, one object per run (<c>{KeyPrefix}{runId}</c>) with its content type and a
/// <c>sha256</c> metadata entry. A download is spooled to a local file and uploaded with one PutObject, which S3 makes
/// visible atomically: readers see the whole object or none, and a crash mid-upload leaves nothing behind.
/// </summary>
public sealed class S3OutputStore : IOutputStore, IDisposable
{
    private const string ShaMetadata = "sha256";
    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly string _spool;

    public S3OutputStore(IOptions<OutputsOptions> options)
    {
        var o = options.Value.S3;
        var config = new AmazonS3Config
        {
            ForcePathStyle = o.ForcePathStyle,
            // S3-compatible servers reject or mangle the SDK's default trailing checksums; S3 itself does not need them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (o.ServiceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.AuthenticationRegion = o.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(o.Region);
        }

        _s3 = o.AccessKey is { Length: > 0 }
            ? new AmazonS3Client(new BasicAWSCredentials(o.AccessKey, o.SecretKey), config)
            : new AmazonS3Client(config);
        _bucket = o.Bucket!;
        _prefix = o.KeyPrefix;
        _spool = o.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "kimara-gateway-spool");
        Directory.CreateDirectory(_spool);
    }

    public OutputSpool CreateSpool(string runId) => new(Path.Combine(_spool, $"{runId}.{Guid.NewGuid():N}.part"));

    public async Task CommitAsync(string runId, OutputSpool spool, OutputInfo info, CancellationToken cancellationToken)
    {
        await spool.SealAsync(cancellationToken);
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = Key(runId),
            FilePath = spool.Path,
            ContentType = info.ContentType,
            // aws-chunked uploads are corrupted by some S3-compatible servers (s3rver stores the chunk framing).
            UseChunkEncoding = false,
        };
        request.Metadata.Add(ShaMetadata, info.Sha256);
        await _s3.PutObjectAsync(request, cancellationToken);
    }

    public async Task<OutputInfo?> FindAsync(string runId, CancellationToken cancellationToken)
    {
        var head = await HeadAsync(runId, cancellationToken);
        return head?.Metadata[ShaMetadata] is { Length: > 0 } sha
            ? new OutputInfo(head.Headers.ContentType, head.Headers.ContentLength, sha)
            : null;
    }

    public async Task<OutputContent?> OpenAsync(string runId, OutputInfo info, CancellationToken cancellationToken)
    {
        var head = await HeadAsync(runId, cancellationToken);
        return head is null || head.Headers.ContentLength != info.Bytes
            ? null
            : new OutputContent(null, new S3RangeStream(_s3, _bucket, Key(runId), info.Bytes), head.LastModified ?? DateTime.UtcNow);
    }

    public Task DeleteAsync(string runId, CancellationToken cancellationToken) =>
        _s3.DeleteObjectAsync(_bucket, Key(runId), cancellationToken);

    public async IAsyncEnumerable<StoredOutputEntry> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix };
        ListObjectsV2Response page;
        do
        {
            page = await _s3.ListObjectsV2Async(request, cancellationToken);
            foreach (var item in page.S3Objects ?? [])
            {
                var runId = item.Key[_prefix.Length..];
                if (RunIds.IsWellFormed(runId))
                {
                    yield return new StoredOutputEntry(runId, item.LastModified ?? DateTime.UtcNow);
                }
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);
    }

    public Task PurgeAbandonedSpoolsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        // Unfinished uploads leave nothing in the bucket (single PutObject); only local spool files can be left over.
        foreach (var file in Directory.EnumerateFiles(_spool, "*.part"))
        {
            if (File.GetLastWriteTimeUtc(file) < olderThan.UtcDateTime)
            {
                File.Delete(file);
            }
        }

        return Task.CompletedTask;
    }

    public void Dispose() => _s3.Dispose();

    private string Key(string runId) =>
        RunIds.IsWellFormed(runId) ? _prefix + runId : throw new ArgumentException("Not a run id.", nameof(runId));

    private async Task<GetObjectMetadataResponse?> HeadAsync(string runId, CancellationToken cancellationToken)
    {
        try
        {
            return await _s3.GetObjectMetadataAsync(_bucket, Key(runId), cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}

/// <summary>
/// A seekable view of one object: the framework's range processing seeks to the range start and reads the range, and each
/// read from a new position issues one ranged GET, so a Range request never downloads the whole object.
/// </summary>
internal sealed class S3RangeStream(IAmazonS3 s3, string bucket, string key, long length) : Stream
{
    private GetObjectResponse? _response;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= length || buffer.IsEmpty)
        {
            return 0;
        }

        _response ??= await s3.GetObjectAsync(
            new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(_position, length - 1) }, cancellationToken);
        var read = await _response.ResponseStream.ReadAsync(buffer, cancellationToken);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        if (target != _position)
        {
            _response?.Dispose();
            _response = null;
            _position = target;
        }

        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _response?.Dispose();
        }

        base.Dispose(disposing);
    }
}
