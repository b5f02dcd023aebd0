using KimaraGateway.Runs;

namespace KimaraGateway.Outputs;

/// <summary>A stored output as the serving routes read it: a file on disk (sent by the framework) or a seekable stream.</summary>
public sealed record OutputContent(string? PhysicalPath, Stream? Stream, DateTimeOffset LastModified);

/// <summary>One stored output, for retention.</summary>
public sealed record StoredOutputEntry(string RunId, DateTimeOffset StoredAt);

/// <summary>
/// Where re-hosted outputs live, keyed by run id. A download is written to a private spool first and becomes visible only
/// through <see cref="CommitAsync"/>, atomically: a reader sees the whole output or none. Implementations are safe to share
/// between processes (a volume mounted by several replicas, one bucket).
/// </summary>
public interface IOutputStore
{
    /// <summary>A new private spool file for an incoming output of <paramref name="runId"/>; deleted on dispose unless committed.</summary>
    OutputSpool CreateSpool(string runId);

    /// <summary>Publishes the spooled bytes as the output of <paramref name="runId"/>, replacing any earlier copy whole.</summary>
    Task CommitAsync(string runId, OutputSpool spool, OutputInfo info, CancellationToken cancellationToken);

    /// <summary>The metadata of a committed output, or null; lets a replica resume a re-host another one finished storing.</summary>
    Task<OutputInfo?> FindAsync(string runId, CancellationToken cancellationToken);

    /// <summary>The committed output's bytes, or null when it is not (or no longer) stored.</summary>
    Task<OutputContent?> OpenAsync(string runId, OutputInfo info, CancellationToken cancellationToken);

    Task DeleteAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Every committed output with when it was stored.</summary>
    IAsyncEnumerable<StoredOutputEntry> ListAsync(CancellationToken cancellationToken);

    /// <summary>Deletes spool files a crashed process left behind that are older than <paramref name="olderThan"/>.</summary>
    Task PurgeAbandonedSpoolsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);
}

/// <summary>A download in progress: a local file nobody else reads, removed on dispose unless the store moved it away.</summary>
public sealed class OutputSpool : IAsyncDisposable
{
    private const int BufferSize = 1 << 16;

    public OutputSpool(string path)
    {
        Path = path;
        Stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.Asynchronous);
    }

    public string Path { get; }

    public FileStream Stream { get; }

    /// <summary>Flushes the bytes to the disk itself (not just the OS cache) and closes the file, so a commit never publishes a torn file.</summary>
    public async Task SealAsync(CancellationToken cancellationToken)
    {
        await Stream.FlushAsync(cancellationToken);
        Stream.Flush(flushToDisk: true);
        await Stream.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        File.Delete(Path);
    }
}
