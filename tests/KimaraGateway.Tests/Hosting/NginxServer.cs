using System.Diagnostics;
using System.Net.Sockets;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Hosting;

/// <summary>
/// A real nginx (Debian package) in the foreground with its own prefix, config, pid and log files in a temporary
/// folder, on a free loopback port: never the system service.
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    private const string Binary = "/usr/sbin/nginx";
    private readonly Process _process;
    private readonly DirectoryInfo _folder;

    private NginxServer(Process process, DirectoryInfo folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string ErrorLog => File.Exists(Path.Combine(_folder.FullName, "error.log")) ? File.ReadAllText(Path.Combine(_folder.FullName, "error.log")) : "";

    /// <summary>Starts nginx with <paramref name="httpBlock"/> (upstream and server blocks) as its whole http {} content.</summary>
    public static async Task<NginxServer> StartAsync(Func<int, string> httpBlock)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException("nginx is not installed (apt-get install -y nginx-light or nginx).");
        }

        var folder = Directory.CreateTempSubdirectory("kgw-nginx-");
        // nginx workers drop to an unprivileged user when started as root; they must be able to enter this folder.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var port = RedisServer.FreePort();
        var dir = folder.FullName;
        var config = $$"""
            worker_processes 1;
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log info;
            events { worker_connections 256; }
            http {
                access_log {{dir}}/access.log;
                client_body_temp_path {{dir}}/client_body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
            {{httpBlock(port)}}
            }
            """;
        var configPath = Path.Combine(dir, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config);

        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-p", dir + "/", "-c", configPath, "-e", Path.Combine(dir, "error.log") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new NginxServer(process, folder, port);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();

        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        var log = server.ErrorLog;
        await server.DisposeAsync();
        throw new InvalidOperationException($"nginx did not listen on port {port}: {log}");
    }

    private void Stop()
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

    public ValueTask DisposeAsync()
    {
        Stop();
        _process.Dispose();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
