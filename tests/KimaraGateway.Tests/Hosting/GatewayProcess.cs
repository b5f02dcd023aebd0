using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KimaraGateway.Tests.Hosting;

/// <summary>
/// The built gateway as its own process (<c>dotnet KimaraGateway.dll --urls http://127.0.0.1:0</c>) configured only
/// through environment variables, as a container would run it; its console output is kept for inspection.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines;

    private GatewayProcess(Process process, ConcurrentQueue<string> lines, Uri address)
    {
        _process = process;
        _lines = lines;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Every line the process wrote to stdout so far.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    public static async Task<GatewayProcess> StartAsync(IEnumerable<KeyValuePair<string, string?>> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "KimaraGateway.dll"), "--urls", "http://127.0.0.1:0" },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var lines = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lines.Enqueue(e.Data);
            if (ListeningAddress(e.Data) is { } address)
            {
                listening.TrySetResult(address);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Enqueue(e.Data);
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("The gateway exited: " + string.Join('\n', lines)));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var gateway = new GatewayProcess(process, lines, new Uri(address.ToString().TrimEnd('/') + "/"));
            AppDomain.CurrentDomain.ProcessExit += (_, _) => gateway.Stop();
            return gateway;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The log events written as JSON lines (all of them, outside Development).</summary>
    public IReadOnlyList<JsonObject> JsonEvents() =>
        [.. Lines.Select(l => l.TrimStart().StartsWith('{') ? JsonNode.Parse(l) as JsonObject : null).OfType<JsonObject>()];

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

            Assert.True(DateTime.UtcNow < deadline, $"No log event {what} in:\n" + string.Join('\n', Lines.TakeLast(30)));
            await Task.Delay(50);
        }
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
        return ValueTask.CompletedTask;
    }
}
