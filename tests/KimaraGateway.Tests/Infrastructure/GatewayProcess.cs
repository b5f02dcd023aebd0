using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>
/// The built gateway as an operating-system process of its own (<c>dotnet KimaraGateway.dll --urls http://127.0.0.1:0</c>),
/// configured only through environment variables as a container would run it, for tests about processes: a reverse
/// proxy in front, a SIGKILL and restart, memory and threads over a soak. Its console is captured for secret scans.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;

    private GatewayProcess(Process process, LogCapture logs, Uri address, string kimaraKey)
    {
        _process = process;
        Logs = logs;
        Address = address;
        KimaraKey = kimaraKey;
    }

    public Uri Address { get; }

    /// <summary>Every line the process wrote to its console so far (JSON lines outside Development).</summary>
    public LogCapture Logs { get; }

    private string KimaraKey { get; }

    /// <summary>
    /// Starts a replica against <paramref name="simulator"/> and Redis with the test callers' keys; replicas of one
    /// deployment share <paramref name="keyPrefix"/>. <paramref name="settings"/> are configuration keys (<c>Tracking:Lease</c>).
    /// </summary>
    public static async Task<GatewayProcess> StartAsync(
        SimulatorServer simulator, string redis, string keyPrefix, IDictionary<string, string?>? settings = null, string environment = "Testing")
    {
        var values = new Dictionary<string, string?>
        {
            ["Kimara:BaseUrl"] = simulator.BaseAddress.ToString(),
            ["Kimara:ApiKey"] = simulator.ApiKey,
            ["ConnectionStrings:Redis"] = redis,
            ["Runs:KeyPrefix"] = keyPrefix,
            // Replicas of one deployment share the output folder and the link key, as they would share a volume and a secret.
            ["Outputs:FileSystem:Root"] = Path.Combine(Path.GetTempPath(), "kgw-outputs-" + keyPrefix.Trim(':', '{', '}')),
            ["Outputs:Links:SigningKey"] = "test-link-key-for-deployment-" + keyPrefix,
        };
        foreach (var (key, value) in GatewayFactory.LoopbackOutputs().Concat(TestCallers.Configuration()).Concat(settings ?? new Dictionary<string, string?>()))
        {
            values[key] = value;
        }

        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "KimaraGateway.dll"), "--urls", "http://127.0.0.1:0" },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Only what the test sets: nothing inherited from the test runner's own environment.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = environment;
        foreach (var (key, value) in values)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var logs = new LogCapture();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            logs.Add(e.Data);
            if (ListeningAddress(e.Data) is { } address)
            {
                listening.TrySetResult(address);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                logs.Add(e.Data);
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("The gateway exited: " + string.Join('\n', logs.Lines)));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var gateway = new GatewayProcess(process, logs, new Uri(address.ToString().TrimEnd('/') + "/"), simulator.ApiKey);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => gateway.Kill();
            return gateway;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>A client for <paramref name="caller"/> on real sockets, scanned for the Kimara key like every test client.</summary>
    public HttpClient CreateCallerClient(string caller = TestCallers.Alice)
    {
        var handler = new SecretLeakCheck(KimaraKey, Logs) { InnerHandler = new SocketsHttpHandler() };
        var client = new HttpClient(handler) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestCallers.KeyOf(caller));
        return client;
    }

    /// <summary>The log events written as JSON lines (all of them, outside Development).</summary>
    public IReadOnlyList<JsonObject> JsonEvents() =>
        [.. Logs.Lines.Select(l => l.TrimStart().StartsWith('{') ? JsonNode.Parse(l) as JsonObject : null).OfType<JsonObject>()];

    /// <summary>Polls the output until an event matches (the request log is written once the response is complete).</summary>
    public async Task<JsonObject> WaitForEventAsync(Func<JsonObject, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (JsonEvents().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No log event {what} in:\n" + string.Join('\n', Logs.Lines.TakeLast(30)));
            await Task.Delay(50);
        }
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
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static Uri? ListeningAddress(string line)
    {
        try
        {
            return JsonNode.Parse(line) is JsonObject { } e && e["SourceContext"]?.GetValue<string>() == "Microsoft.Hosting.Lifetime"
                && e["address"]?.GetValue<string>() is { } address ? new Uri(address) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
