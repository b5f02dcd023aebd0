using System.Diagnostics;
using System.Net.Sockets;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// The npm <c>s3rver</c> (an S3-compatible server) on a free loopback port with a fresh data folder and one bucket, started
/// once for the test run. Installed by the test script: <c>npm ci --prefix tests/tools</c>.
/// </summary>
public sealed class S3rverServer : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    public const string Bucket = "kimara-outputs";
    private static readonly Lazy<Task<S3rverServer>> SharedInstance = new(() => StartAsync());
    private readonly Process _process;
    private readonly string _directory;

    private S3rverServer(Process process, int port, string directory)
    {
        _process = process;
        _directory = directory;
        ServiceUrl = new Uri($"http://127.0.0.1:{port}");
    }

    public static Task<S3rverServer> Shared => SharedInstance.Value;

    public Uri ServiceUrl { get; }

    /// <summary>Gateway settings for the S3 output store on this server, under a key prefix of its own.</summary>
    public IEnumerable<KeyValuePair<string, string?>> StoreSettings(string keyPrefix)
    {
        yield return new("Outputs:Store", "S3");
        yield return new("Outputs:S3:ServiceUrl", ServiceUrl.ToString());
        yield return new("Outputs:S3:Bucket", Bucket);
        yield return new("Outputs:S3:AccessKey", AccessKey);
        yield return new("Outputs:S3:SecretKey", SecretKey);
        yield return new("Outputs:S3:KeyPrefix", keyPrefix);
    }

    public static async Task<S3rverServer> StartAsync()
    {
        var script = Path.Combine(FindToolsFolder(), "node_modules", "s3rver", "bin", "s3rver.js");
        var port = RedisServer.FreePort();
        var directory = Path.Combine(Path.GetTempPath(), "kgw-s3rver-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script, "--directory", directory, "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", Bucket },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("s3rver did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new S3rverServer(process, port, directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();

        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException)
            {
                if (process.HasExited)
                {
                    break;
                }

                await Task.Delay(50);
            }
        }

        server.Kill();
        throw new InvalidOperationException($"s3rver did not listen on port {port}.");
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }

            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
        }
    }

    private static string FindToolsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var tools = Path.Combine(dir.FullName, "tests", "tools");
            if (Directory.Exists(Path.Combine(tools, "node_modules", "s3rver")))
            {
                return tools;
            }
        }

        throw new InvalidOperationException("s3rver is not installed; run `npm ci --prefix tests/tools` (./scripts/test.sh does).");
    }
}
