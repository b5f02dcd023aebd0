using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KimaraGateway.Runs;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>
/// Outputs in a folder, sharded two levels deep by a hash of the run id (<c>ab/cd/run_…</c>) so no directory grows huge.
/// Downloads are spooled in <c>.incoming/</c> on the same volume and published with a rename, which is atomic, so several
/// processes sharing the volume never see a partial file; the metadata file is published the same way, after the bytes.
/// </summary>
public sealed class FileOutputStore : IOutputStore
{
    private const string IncomingFolder = ".incoming";
    private const string MetaSuffix = ".meta";
    private readonly string _root;
    private readonly string _incoming;

    public FileOutputStore(IOptions<OutputsOptions> options, IHostEnvironment environment)
    {
        _root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.FileSystem.Root));
        _incoming = Path.Combine(_root, IncomingFolder);
        Directory.CreateDirectory(_incoming);
    }

    public OutputSpool CreateSpool(string runId) =>
        new(Path.Combine(_incoming, $"{runId}.{Guid.NewGuid():N}.part"));

    public async Task CommitAsync(string runId, OutputSpool spool, OutputInfo info, CancellationToken cancellationToken)
    {
        await spool.SealAsync(cancellationToken);
        var data = DataPath(runId);
        Directory.CreateDirectory(Path.GetDirectoryName(data)!);
        File.Move(spool.Path, data, overwrite: true);

        var meta = Path.Combine(_incoming, $"{runId}.{Guid.NewGuid():N}.meta.part");
        await File.WriteAllTextAsync(meta, FormatMeta(info), Encoding.UTF8, cancellationToken);
        File.Move(meta, data + MetaSuffix, overwrite: true);
    }

    public async Task<OutputInfo?> FindAsync(string runId, CancellationToken cancellationToken)
    {
        var data = DataPath(runId);
        string text;
        try
        {
            text = await File.ReadAllTextAsync(data + MetaSuffix, Encoding.UTF8, cancellationToken);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var info = ParseMeta(text);
        var file = new FileInfo(data);
        return info is not null && file.Exists && file.Length == info.Bytes ? info : null;
    }

    public Task<OutputContent?> OpenAsync(string runId, OutputInfo info, CancellationToken cancellationToken)
    {
        var file = new FileInfo(DataPath(runId));
        return Task.FromResult(file.Exists && file.Length == info.Bytes
            ? new OutputContent(file.FullName, null, file.LastWriteTimeUtc)
            : null);
    }

    public Task DeleteAsync(string runId, CancellationToken cancellationToken)
    {
        var data = DataPath(runId);
        // Metadata first: without it the output no longer counts as stored, even if the data file outlives a crash here.
        File.Delete(data + MetaSuffix);
        File.Delete(data);
        return Task.CompletedTask;
    }

    public IAsyncEnumerable<StoredOutputEntry> ListAsync(CancellationToken cancellationToken) =>
        Directory.EnumerateDirectories(_root, "??")
            .SelectMany(shard => Directory.EnumerateFiles(shard, "run_*", SearchOption.AllDirectories))
            .Where(file => !file.EndsWith(MetaSuffix, StringComparison.Ordinal))
            .Select(file => new StoredOutputEntry(Path.GetFileName(file), File.GetLastWriteTimeUtc(file)))
            .ToAsyncEnumerable();

    public Task PurgeAbandonedSpoolsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        foreach (var file in Directory.EnumerateFiles(_incoming, "*.part"))
        {
            if (File.GetLastWriteTimeUtc(file) < olderThan.UtcDateTime)
            {
                File.Delete(file);
            }
        }

        return Task.CompletedTask;
    }

    internal string DataPath(string runId)
    {
        // Run ids come from our store, but a path is built from them: refuse anything that is not one.
        if (!RunIds.IsWellFormed(runId))
        {
            throw new ArgumentException("Not a run id.", nameof(runId));
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(runId)));
        return Path.Combine(_root, hash[..2], hash[2..4], runId);
    }

    private static string FormatMeta(OutputInfo info) =>
        string.Create(CultureInfo.InvariantCulture, $"{info.ContentType}\n{info.Bytes}\n{info.Sha256}\n");

    private static OutputInfo? ParseMeta(string text)
    {
        var lines = text.Split('\n');
        return lines.Length >= 3 && long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            ? new OutputInfo(lines[0], bytes, lines[2])
            : null;
    }
}
