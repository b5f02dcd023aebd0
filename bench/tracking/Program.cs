using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using TrackingBench;

// Tracking benchmarks, loopback only and bounded in time: upstream amplification for 1-3 replicas, cached status
// reads with wrk against a bare endpoint, and SSE fan-out. Usage: dotnet run -c Release --project bench/tracking -- [all|amplification|throughput|fanout]
var scenario = args.FirstOrDefault() ?? "all";
var root = FindRepositoryRoot();
var gatewayDll = Path.Combine(root, "src", "KimaraGateway", "bin", "Release", "net10.0", "KimaraGateway.dll");
if (!File.Exists(gatewayDll))
{
    Console.Error.WriteLine($"Build the gateway first: dotnet build -c Release src/KimaraGateway ({gatewayDll} is missing).");
    return 1;
}

// The in-process simulator logs every request at Information; that would drown the report and cost CPU.
Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
using var redis = await RedisProcess.StartAsync();
await using var simulator = await SimulatorApp.StartAsync(o =>
{
    o.ApiKey = "bench-sim-" + Guid.NewGuid().ToString("N");
    o.QueuedSeconds = 1;
    o.RunningSeconds = 5;
});
using var control = new HttpClient { BaseAddress = simulator.BaseAddress };

Console.WriteLine($"# tracking benchmarks, {DateTime.UtcNow:u}, {Environment.ProcessorCount} cores (shared with other builds)");
if (scenario is "all" or "amplification")
{
    Console.WriteLine();
    Console.WriteLine("## upstream amplification (runs live ~6 s: 1 s queued + 5 s running)");
    Console.WriteLine("| replicas | pollers | runs | poll every | caller requests | naive upstream calls (nominal) | upstream status calls | calls per run | ratio nominal/gateway | ratio achieved/gateway |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
    foreach (var replicas in new[] { 1, 2, 3 })
    {
        foreach (var pollers in new[] { 20, 200 })
        {
            await AmplificationAsync(replicas, pollers, runs: 4, interval: TimeSpan.FromMilliseconds(250));
        }
    }
}

if (scenario is "all" or "throughput")
{
    await ThroughputAsync();
}

if (scenario is "all" or "fanout")
{
    await FanOutAsync(subscribers: 2000);
}

return 0;

async Task<List<GatewayProcess>> StartReplicasAsync(int count)
{
    var prefix = $"b{Guid.NewGuid():N}"[..9] + ":";
    return [.. await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
        GatewayProcess.StartAsync(gatewayDll, simulator.BaseAddress, simulator.ApiKey, redis.ConnectionString, prefix)))];
}

async Task<string> SubmitAsync(HttpClient client, string prompt)
{
    using var response = await client.PostAsJsonAsync(new Uri("/runs", UriKind.Relative), new { app_id = "text-to-image", inputs = new { prompt } });
    if (response.StatusCode != HttpStatusCode.Accepted)
    {
        throw new InvalidOperationException($"Submit answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
}

async Task<int> UpstreamStatusCallsAsync() =>
    (await control.GetFromJsonAsync<JsonObject>(new Uri("/_sim/counters", UriKind.Relative)))!["routes"]?["GET /runs/{id}"]?.GetValue<int>() ?? 0;

async Task AmplificationAsync(int replicas, int pollers, int runs, TimeSpan interval)
{
    simulator.Options.QueuedSeconds = 1;
    simulator.Options.RunningSeconds = 5;
    (await control.PostAsync(new Uri("/_sim/reset", UriKind.Relative), null)).Dispose();
    var gateways = await StartReplicasAsync(replicas);
    var clients = gateways.Select(g => Http.Client(g.BaseAddress, 128)).ToList();
    try
    {
        var clock = Stopwatch.StartNew();
        var ids = new List<string>();
        for (var i = 0; i < runs; i++)
        {
            ids.Add(await SubmitAsync(clients[i % replicas], $"amplification {i}"));
        }

        long requests = 0;
        async Task PollAsync(HttpClient client)
        {
            var etags = new string?[ids.Count];
            var done = new bool[ids.Count];
            var next = clock.Elapsed;
            while (!done.All(d => d))
            {
                for (var i = 0; i < ids.Count; i++)
                {
                    if (done[i])
                    {
                        continue;
                    }

                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/runs/{ids[i]}", UriKind.Relative));
                    if (etags[i] is { } etag)
                    {
                        request.Headers.TryAddWithoutValidation("If-None-Match", etag);
                    }

                    using var response = await client.SendAsync(request);
                    Interlocked.Increment(ref requests);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        etags[i] = response.Headers.ETag?.ToString();
                        var status = (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>();
                        done[i] = status is "completed" or "failed";
                    }
                    else if (response.StatusCode != HttpStatusCode.NotModified)
                    {
                        throw new InvalidOperationException($"GET /runs/{{id}} answered {(int)response.StatusCode}");
                    }
                }

                next += interval;
                var wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, pollers).Select(p => Task.Run(() => PollAsync(clients[p % replicas]))));
        var elapsed = clock.Elapsed;
        var upstream = await UpstreamStatusCallsAsync();
        var nominal = pollers * runs * (elapsed / interval);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {replicas} | {pollers} | {runs} | {interval.TotalMilliseconds} ms | {requests} in {elapsed.TotalSeconds:F1} s | {nominal:F0} | {upstream} | {(double)upstream / runs:F2} | {nominal / upstream:F0} | {(double)requests / upstream:F0} |"));
    }
    finally
    {
        clients.ForEach(c => c.Dispose());
        foreach (var gateway in gateways)
        {
            await gateway.DisposeAsync();
        }
    }
}

async Task ThroughputAsync()
{
    simulator.Options.QueuedSeconds = 0;
    simulator.Options.RunningSeconds = 0;
    var gateways = await StartReplicasAsync(1);
    await using var gateway = gateways[0];
    using var client = Http.Client(gateway.BaseAddress, 4);
    var id = await SubmitAsync(client, "throughput");
    string json;
    while (true)
    {
        json = await client.GetStringAsync(new Uri($"/runs/{id}", UriKind.Relative));
        if (json.Contains("\"completed\"", StringComparison.Ordinal))
        {
            break;
        }

        await Task.Delay(200);
    }

    // The same bytes from memory, on a bare minimal-API endpoint in this process: the ceiling for the full pipeline.
    var bare = WebApplication.CreateSlimBuilder();
    bare.Logging.ClearProviders();
    bare.WebHost.UseUrls("http://127.0.0.1:0");
    var bareApp = bare.Build();
    var body = System.Text.Encoding.UTF8.GetBytes(json);
    bareApp.MapGet("/runs/{id}", (string id) => Results.Bytes(body, "application/json"));
    await bareApp.StartAsync();
    var bareUrl = bareApp.Urls.First();

    var gatewayUrl = new Uri(gateway.BaseAddress, $"/runs/{id}").ToString();
    var bareRunUrl = $"{bareUrl}/runs/{id}";
    Console.WriteLine();
    const int rounds = 5;
    Console.WriteLine($"## cached GET /runs/{{id}} (completed run, {body.Length} B JSON): wrk -t2 -c64 -d10s --latency, after a 3 s warm-up, alternating {rounds} times");
    Console.WriteLine("| target | requests/s | p50 | p99 | gateway CPU per request | ratio to the bare round before |");
    Console.WriteLine("|---|---|---|---|---|---|");
    var ratios = new List<double>();
    var gatewayP99 = TimeSpan.Zero;
    for (var round = 1; round <= rounds; round++)
    {
        await Wrk.RunAsync(bareRunUrl, TimeSpan.FromSeconds(3));
        var bareResult = await Wrk.RunAsync(bareRunUrl, TimeSpan.FromSeconds(10));
        Row($"bare minimal API (memory), round {round}", bareResult, "", "");

        await Wrk.RunAsync(gatewayUrl, TimeSpan.FromSeconds(3));
        var cpuBefore = gateway.CpuTime();
        var gatewayResult = await Wrk.RunAsync(gatewayUrl, TimeSpan.FromSeconds(10));
        var cpuPerRequest = (gateway.CpuTime() - cpuBefore) / gatewayResult.Requests;
        var ratio = gatewayResult.RequestsPerSecond / bareResult.RequestsPerSecond;
        ratios.Add(ratio);
        gatewayP99 = gatewayResult.P99 > gatewayP99 ? gatewayResult.P99 : gatewayP99;
        Row($"gateway (auth, ownership, read limit, store via replica cache), round {round}", gatewayResult,
            string.Create(CultureInfo.InvariantCulture, $"{cpuPerRequest.TotalMicroseconds:F0} µs"), ratio.ToString("F2", CultureInfo.InvariantCulture));
    }

    // Where the rest goes: the same route without a credential stops at authentication (a 401 problem), before the handler.
    await Wrk.RunAsync(gatewayUrl, TimeSpan.FromSeconds(3), authenticated: false);
    Row("gateway, no credential (401 problem: pipeline without the run handler)", await Wrk.RunAsync(gatewayUrl, TimeSpan.FromSeconds(10), authenticated: false), "", "");

    ratios.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio gateway/bare: median {ratios[rounds / 2]:F2} (rounds {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}); gateway p99 (worst round) = {gatewayP99.TotalMilliseconds:F2} ms"));

    static void Row(string name, WrkResult result, string cpu, string ratio) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {result.RequestsPerSecond:F0} | {result.P50.TotalMilliseconds:F2} ms | {result.P99.TotalMilliseconds:F2} ms | {cpu} | {ratio} |"));

    await bareApp.StopAsync();
    await bareApp.DisposeAsync();
}

async Task FanOutAsync(int subscribers)
{
    // Long enough in the queue for every subscriber to connect; then released, so the change time is known.
    simulator.Options.QueuedSeconds = 3600;
    simulator.Options.RunningSeconds = 2;
    var gateways = await StartReplicasAsync(1);
    await using var gateway = gateways[0];
    using var client = Http.Client(gateway.BaseAddress, subscribers + 10);
    var id = await SubmitAsync(client, "fan-out");
    await Task.Delay(TimeSpan.FromSeconds(3));
    var before = gateway.ResidentBytes();

    var connected = new CountdownEvent(subscribers);
    var streams = new List<Task<List<(string Status, DateTimeOffset ChangedAt, DateTimeOffset ReceivedAt)>>>();
    using var throttle = new SemaphoreSlim(100);
    for (var i = 0; i < subscribers; i++)
    {
        await throttle.WaitAsync();
        streams.Add(Task.Run(async () =>
        {
            var received = new List<(string, DateTimeOffset, DateTimeOffset)>();
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/runs/{id}/events", UriKind.Relative));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var first = true;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                var at = DateTimeOffset.UtcNow;
                if (first)
                {
                    first = false;
                    throttle.Release();
                    connected.Signal();
                    continue;
                }

                var data = JsonNode.Parse(line.AsSpan(6).ToString())!;
                received.Add((data["status"]!.GetValue<string>(), data["updated_at"]!.GetValue<DateTimeOffset>(), at));
            }

            return received;
        }));
    }

    connected.Wait(TimeSpan.FromMinutes(2));
    await Task.Delay(TimeSpan.FromSeconds(3));
    var after = gateway.ResidentBytes();
    simulator.Options.QueuedSeconds = 0;
    var all = await Task.WhenAll(streams).WaitAsync(TimeSpan.FromMinutes(2));

    Console.WriteLine();
    Console.WriteLine($"## SSE fan-out: {subscribers} subscribers on one replica, one run");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"gateway RSS {before / 1048576.0:F1} MB before, {after / 1048576.0:F1} MB with {subscribers} open streams: {(after - before) / 1024.0 / subscribers:F1} KB per subscriber"));
    Console.WriteLine("| change | subscribers that got it | p50 | p99 | max (last subscriber) |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var status in new[] { "running", "completed" })
    {
        var latencies = all.SelectMany(s => s.Where(e => e.Status == status)).Select(e => e.ReceivedAt - e.ChangedAt).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {status} | {latencies.Count} | {Percentile(latencies, 0.50).TotalMilliseconds:F0} ms | {Percentile(latencies, 0.99).TotalMilliseconds:F0} ms | {latencies[^1].TotalMilliseconds:F0} ms |"));
    }
}

static TimeSpan Percentile(List<TimeSpan> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

static string FindRepositoryRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KimaraGateway.sln")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? throw new InvalidOperationException("Run from inside the repository.");
}
