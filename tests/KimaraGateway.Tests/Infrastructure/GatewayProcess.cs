using System.Diagnostics;
using System.Net.Http.Headers;
using Kimara.Simulator;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// The built gateway as an operating-system process of its own (<c>dotnet KimaraGateway.dll</c> on a free loopback port),
/// for tests about processes: a SIGKILL, a restart, memory and threads over a soak. Its console is captured for secret scans.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;

    private GatewayProcess(Process process, Uri baseAddress, LogCapture logs, string kimaraKey)
    {
        _process = process;
        BaseAddress = baseAddress;
        Logs = logs;
        KimaraKey = kimaraKey;
    }

    public Uri BaseAddress { get; }

    public LogCapture Logs { get; }

    public int Id => _process.Id;

    private string KimaraKey { get; }

    /// <summary>Starts a replica against <paramref name="simulator"/> and Redis; replicas of one deployment share <paramref name="keyPrefix"/>.</summary>
    public static async Task<GatewayProcess> StartAsync(SimulatorServer simulator, string redis, string keyPrefix, IDictionary<string, string?>? settings = null)
    {
        var url = $"http://127.0.0.1:{RedisServer.FreePort()}";
        var dll = GatewayDll();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);

        var values = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Kimara:BaseUrl"] = simulator.BaseAddress.ToString(),
            ["Kimara:ApiKey"] = simulator.ApiKey,
            ["ConnectionStrings:Redis"] = redis,
            ["Runs:KeyPrefix"] = keyPrefix,
        };
        foreach (var (key, value) in TestCallers.Configuration().Concat(settings ?? new Dictionary<string, string?>()))
        {
            values[key] = value;
        }

        foreach (var (key, value) in values)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var logs = new LogCapture();
        var process = Process.Start(start) ?? throw new InvalidOperationException("The gateway process did not start.");
        process.OutputDataReceived += (_, e) => Capture(logs, e.Data);
        process.ErrorDataReceived += (_, e) => Capture(logs, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var gateway = new GatewayProcess(process, new Uri(url), logs, simulator.ApiKey);
        await gateway.WaitUntilListeningAsync();
        return gateway;
    }

    /// <summary>A client for <paramref name="caller"/> on real sockets, scanned for the Kimara key like every test client.</summary>
    public HttpClient CreateCallerClient(string caller = TestCallers.Alice)
    {
        var handler = new SecretLeakCheck(KimaraKey, Logs) { InnerHandler = new SocketsHttpHandler() };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestCallers.KeyOf(caller));
        return client;
    }

    /// <summary>Resident memory and thread count of the process now.</summary>
    public (long WorkingSetBytes, int Threads) Sample()
    {
        _process.Refresh();
        return (_process.WorkingSet64, _process.Threads.Count);
    }

    /// <summary>SIGKILL: no shutdown hooks, no lease released, whatever was in flight is cut off.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void Capture(LogCapture logs, string? line)
    {
        if (line is not null)
        {
            logs.Add(line);
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("The gateway process exited at startup:\n" + string.Join('\n', Logs.Lines));
            }

            try
            {
                // Any answer (a 401 without a credential) means the pipeline is up.
                using var response = await probe.GetAsync("/runs");
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException("The gateway process did not listen within 60 s:\n" + string.Join('\n', Logs.Lines));
    }

    /// <summary>The gateway project's own build output, of the configuration these tests were built in.</summary>
    private static string GatewayDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "KimaraGateway.sln")))
        {
            root = root.Parent;
        }

        var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("KimaraGateway.sln not found above the test output."),
            "src", "KimaraGateway", "bin", configuration, framework, "KimaraGateway.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing; build the solution first.");
    }
}
