using System.Collections.Concurrent;
using System.Text.Json;

namespace Kimara.Simulator.Runs;

/// <summary>Everything the simulator remembers: runs and call counters. Cleared by <c>POST /_sim/reset</c>.</summary>
internal sealed class SimulatorState
{
    public const string PostRunsRoute = "POST /runs";
    public const string GetRunRoute = "GET /runs/{id}";
    public const string OutputRoute = "GET /cdn/outputs";

    private readonly ConcurrentDictionary<string, SimRun> _runs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _routes = new(StringComparer.Ordinal);
    private readonly List<SimRun> _received = [];
    private long _rejectedPosts;

    public bool TryGet(string id, out SimRun run) => _runs.TryGetValue(id, out run!);

    public void Add(SimRun run)
    {
        lock (_gate)
        {
            _runs[run.Id] = run;
            _received.Add(run);
        }
    }

    public void CountRoute(string route)
    {
        lock (_gate)
            _routes[route] = _routes.GetValueOrDefault(route) + 1;
    }

    public void CountRejectedPost() => Interlocked.Increment(ref _rejectedPosts);

    public void Reset()
    {
        lock (_gate)
        {
            _runs.Clear();
            _received.Clear();
            _routes.Clear();
            _rejectedPosts = 0;
        }
    }

    public CountersResponse Snapshot()
    {
        lock (_gate)
        {
            var routes = new Dictionary<string, long>(StringComparer.Ordinal)
            {
                [PostRunsRoute] = _routes.GetValueOrDefault(PostRunsRoute),
                [GetRunRoute] = _routes.GetValueOrDefault(GetRunRoute),
                [OutputRoute] = _routes.GetValueOrDefault(OutputRoute),
            };
            var runs = new Dictionary<string, RunCounters>(StringComparer.Ordinal);
            foreach (var run in _received)
            {
                var (status, output, times) = run.Counts();
                runs[run.Id] = new RunCounters(status, output, [.. times.Select(t => t.UtcDateTime)]);
            }

            return new CountersResponse(
                routes,
                Interlocked.Read(ref _rejectedPosts),
                runs,
                [.. _received.Select(r => new ReceivedRun(r.Id, r.AppId, r.Inputs))]);
        }
    }
}

internal sealed record CountersResponse(
    IReadOnlyDictionary<string, long> Routes,
    long RejectedPosts,
    IReadOnlyDictionary<string, RunCounters> Runs,
    IReadOnlyList<ReceivedRun> Received);

internal sealed record RunCounters(int StatusCalls, int OutputCalls, IReadOnlyList<DateTime> StatusCallTimes);

internal sealed record ReceivedRun(string RunId, string AppId, JsonElement Inputs);
