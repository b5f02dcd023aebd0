using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, persistence off, started once for the test run and shared;
/// each gateway under test uses its own key prefix, so tests never see each other's keys.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly Lazy<Task<RedisServer>> SharedInstance = new(() => StartAsync());
    private readonly Process _process;

    private readonly string? _dataDirectory;

    private RedisServer(Process process, int port, string? dataDirectory)
    {
        _process = process;
        Port = port;
        _dataDirectory = dataDirectory;
    }

    public static Task<RedisServer> Shared => SharedInstance.Value;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000";

    /// <summary>
    /// Starts a server of its own. With <paramref name="dataDirectory"/> every write is fsynced to an append-only file
    /// there, so a <see cref="Kill"/> and <see cref="RestartAsync"/> lose nothing, like a production Redis with AOF.
    /// </summary>
    public static async Task<RedisServer> StartAsync(int? port = null, string? dataDirectory = null)
    {
        var chosen = port ?? FreePort();
        var persistence = dataDirectory is null
            ? "--save \"\" --appendonly no"
            : $"--save \"\" --appendonly yes --appendfsync always --dir {dataDirectory}";
        var start = new ProcessStartInfo(FindRedis(), $"--port {chosen} --bind 127.0.0.1 {persistence} --protected-mode no")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, chosen, dataDirectory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();

        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{chosen},connectTimeout=500");
                await connection.GetDatabase().PingAsync();
                return server;
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(50);
            }
        }

        server.Kill();
        throw new InvalidOperationException($"redis-server did not answer on port {chosen}.");
    }

    /// <summary>Stops the server abruptly (as a crash would), keeping the port for <see cref="RestartAsync"/>.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public Task<RedisServer> RestartAsync() => StartAsync(Port, _dataDirectory);

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRedis()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("redis-server is not installed; run ./scripts/test.sh, which installs it.");
    }
}
