using System.Security.Cryptography;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Outputs;

/// <summary>The contract every output store keeps; run against the folder store and against S3 (s3rver on loopback).</summary>
public abstract class OutputStoreContractTests : IAsyncLifetime
{
    protected IOutputStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public Task DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    protected abstract Task<IOutputStore> CreateStoreAsync();

    [Fact]
    public async Task Committed_Output_Is_Found_And_Read_Back_Byte_For_Byte()
    {
        var runId = RunIds.New();
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        var info = await CommitAsync(runId, bytes);

        Assert.Equal(info, await Store.FindAsync(runId, default));
        Assert.Equal(bytes, await ReadAsync(runId, info));
    }

    [Fact]
    public async Task An_Uncommitted_Spool_Is_Invisible_And_Gone_After_Dispose()
    {
        var runId = RunIds.New();
        string spoolPath;
        await using (var spool = Store.CreateSpool(runId))
        {
            spoolPath = spool.Path;
            await spool.Stream.WriteAsync(RandomNumberGenerator.GetBytes(10_000));
            await spool.Stream.FlushAsync();

            Assert.Null(await Store.FindAsync(runId, default));
            Assert.Null(await Store.OpenAsync(runId, new OutputInfo("image/png", 10_000, "00"), default));
        }

        Assert.False(File.Exists(spoolPath));
        Assert.DoesNotContain(runId, await ListIdsAsync());
    }

    [Fact]
    public async Task A_Second_Commit_Replaces_The_First_Whole()
    {
        var runId = RunIds.New();
        await CommitAsync(runId, RandomNumberGenerator.GetBytes(50_000));
        var second = RandomNumberGenerator.GetBytes(20_000);

        var info = await CommitAsync(runId, second);

        Assert.Equal(info, await Store.FindAsync(runId, default));
        Assert.Equal(second, await ReadAsync(runId, info));
    }

    [Fact]
    public async Task Delete_Removes_The_Output_And_Its_Listing()
    {
        var runId = RunIds.New();
        var info = await CommitAsync(runId, RandomNumberGenerator.GetBytes(1_000));
        Assert.Contains(runId, await ListIdsAsync());

        await Store.DeleteAsync(runId, default);

        Assert.Null(await Store.FindAsync(runId, default));
        Assert.Null(await Store.OpenAsync(runId, info, default));
        Assert.DoesNotContain(runId, await ListIdsAsync());
    }

    [Fact]
    public async Task Opened_Content_Reads_Any_Range_After_A_Seek()
    {
        var runId = RunIds.New();
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        var info = await CommitAsync(runId, bytes);

        var content = (await Store.OpenAsync(runId, info, default))!;
        await using var stream = content.Stream ?? File.OpenRead(content.PhysicalPath!);
        stream.Seek(150_000, SeekOrigin.Begin);
        var slice = new byte[1_000];
        await stream.ReadExactlyAsync(slice);

        Assert.Equal(bytes.AsSpan(150_000, 1_000).ToArray(), slice);
    }

    [Fact]
    public async Task Purge_Removes_Only_Spools_Older_Than_The_Cutoff()
    {
        var spool = Store.CreateSpool(RunIds.New());
        await spool.Stream.WriteAsync(new byte[10]);
        await spool.Stream.DisposeAsync();

        await Store.PurgeAbandonedSpoolsAsync(DateTimeOffset.UtcNow.AddHours(-1), default);
        Assert.True(File.Exists(spool.Path));

        await Store.PurgeAbandonedSpoolsAsync(DateTimeOffset.UtcNow.AddMinutes(1), default);
        Assert.False(File.Exists(spool.Path));
    }

    private async Task<OutputInfo> CommitAsync(string runId, byte[] bytes)
    {
        await using var spool = Store.CreateSpool(runId);
        await spool.Stream.WriteAsync(bytes);
        var info = new OutputInfo("image/png", bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        await Store.CommitAsync(runId, spool, info, default);
        return info;
    }

    private async Task<byte[]> ReadAsync(string runId, OutputInfo info)
    {
        var content = (await Store.OpenAsync(runId, info, default))!;
        if (content.PhysicalPath is { } path)
        {
            return await File.ReadAllBytesAsync(path);
        }

        await using var stream = content.Stream!;
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<List<string>> ListIdsAsync()
    {
        var ids = new List<string>();
        await foreach (var entry in Store.ListAsync(default))
        {
            ids.Add(entry.RunId);
        }

        return ids;
    }
}

public sealed class FileOutputStoreContractTests : OutputStoreContractTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "kgw-store-" + Guid.NewGuid().ToString("N")[..12]);

    protected override Task<IOutputStore> CreateStoreAsync() =>
        Task.FromResult<IOutputStore>(new FileOutputStore(Options.Create(new OutputsOptions { FileSystem = { Root = _root } }), new TestEnvironment()));

    [Fact]
    public async Task Outputs_Are_Sharded_Two_Levels_Deep_And_Spools_Live_On_The_Same_Volume()
    {
        var runId = RunIds.New();
        await using var spool = Store.CreateSpool(runId);
        await spool.Stream.WriteAsync(new byte[] { 1, 2, 3 });
        await Store.CommitAsync(runId, spool, new OutputInfo("image/png", 3, "00"), default);

        var file = Directory.GetFiles(_root, runId, SearchOption.AllDirectories).Single();
        var relative = Path.GetRelativePath(_root, file).Split(Path.DirectorySeparatorChar);
        Assert.Equal(3, relative.Length);
        Assert.Equal(_root, Path.GetDirectoryName(Path.GetDirectoryName(spool.Path)));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private sealed class TestEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = Path.GetTempPath();

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}

public sealed class S3OutputStoreContractTests : OutputStoreContractTests
{
    protected override async Task<IOutputStore> CreateStoreAsync()
    {
        var s3 = await S3rverServer.Shared;
        var options = new OutputsOptions
        {
            Store = OutputStoreKind.S3,
            S3 =
            {
                ServiceUrl = s3.ServiceUrl,
                Bucket = S3rverServer.Bucket,
                AccessKey = S3rverServer.AccessKey,
                SecretKey = S3rverServer.SecretKey,
                KeyPrefix = $"contract-{Guid.NewGuid():N}/",
            },
        };
        return new S3OutputStore(Options.Create(options));
    }
}
