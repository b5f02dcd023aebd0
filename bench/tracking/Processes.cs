using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace TrackingBench;

/// <summary>A redis-server of the benchmark's own on a free loopback port, persistence off.</summary>
internal sealed class RedisProcess : IDisposable
{
    private readonly Process _process;

    private RedisProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)},abortConnect=false";

    public static async Task<RedisProcess> StartAsync()
    {
        var port = Ports.Free();
        var process = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        await Ports.WaitForListenerAsync(port, TimeSpan.FromSeconds(10));
        return new RedisProcess(process, port);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}

/// <summary>One gateway replica as a real process (the Release build), configured through environment variables.</summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    public const string CallerKey = "bench-caller-key-7d2e41";

    private const string LinkSigningKey = "bench-link-key-0123456789abcdef0123456789";

    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    private GatewayProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>CPU time the process has used so far (user and system).</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Resident memory of the process (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("VmRSS not found.");
    }

    public static async Task<GatewayProcess> StartAsync(string gatewayDll, Uri kimara, string kimaraKey, string redis, string keyPrefix)
    {
        var port = Ports.Free();
        var start = new ProcessStartInfo("dotnet", $"\"{gatewayDll}\"")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(gatewayDll)!,
        };
        var env = start.Environment;
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        env["Kimara__BaseUrl"] = kimara.ToString();
        env["Kimara__ApiKey"] = kimaraKey;
        env["ConnectionStrings__Redis"] = redis;
        env["Runs__KeyPrefix"] = keyPrefix;
        env["Auth__ApiKeys__0__CallerId"] = "bench";
        // The benchmark's one caller stands for many callers: the per-caller limits must not throttle it.
        env["Auth__Limits__SubmissionsPerMinute"] = "100000";
        env["Auth__Limits__ReadsPerSecond"] = "1000000";
        env["Auth__Limits__ConcurrentRuns"] = "0";
        env["Auth__Limits__RunsPerDay"] = "0";
        env["Auth__ApiKeys__0__KeyHash"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(CallerKey))).ToLowerInvariant();
        // Production refuses to start without a link signing key, and fetches outputs only from hosts it is told to: here the
        // loopback simulator over plain http. Replicas of one deployment share the key and the output folder.
        env["Outputs__Links__SigningKey"] = LinkSigningKey;
        env["Outputs__AllowedHosts__0"] = "127.0.0.1";
        env["Outputs__InsecureHttpHosts__0"] = "127.0.0.1";
        env["Outputs__AllowedNetworks__0"] = "127.0.0.1/32";
        env["Outputs__FileSystem__Root"] = Path.Combine(Path.GetTempPath(), "kimara-bench-outputs", keyPrefix.TrimEnd(':'));
        env["Serilog__MinimumLevel__Default"] = "Warning";
        env["Serilog__MinimumLevel__Override__Microsoft"] = "Warning";

        var process = Process.Start(start)!;
        var gateway = new GatewayProcess(process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (gateway._errors)
            {
                gateway._errors.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var probe = Http.Client(gateway.BaseAddress, 1);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with {process.ExitCode}: {gateway._errors}");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri("/runs?limit=1", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return gateway;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The gateway did not become ready.");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

internal static class Ports
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForListenerAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}

internal static class Http
{
    /// <summary>A client for the gateway as the benchmark's caller, over at most <paramref name="connections"/> sockets.</summary>
    public static HttpClient Client(Uri baseAddress, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(2),
            DefaultRequestHeaders = { Authorization = new("Bearer", GatewayProcess.CallerKey) },
        };
}
