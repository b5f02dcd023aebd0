using System.Text.Json;

namespace Kimara.Simulator.Runs;

/// <summary>One submitted run. Its status is derived from its age on each poll; terminal states are frozen once seen.</summary>
internal sealed class SimRun
{
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _statusCallTimes = [];
    private DateTimeOffset? _lastPollAt;
    private string? _terminalStatus;
    private DateTimeOffset _terminalAt;
    private long _outputExpires;
    private int _outputCalls;

    public SimRun(string id, string appId, JsonElement inputs, DateTimeOffset createdAt)
    {
        Id = id;
        AppId = appId;
        Inputs = inputs;
        CreatedAt = createdAt;
        Fails = Apps.AppCatalog.RequestsFailure(inputs);
        // Pixels come from the inputs, so the same request always draws the same picture.
        Seed = System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(appId + "\n" + inputs.GetRawText()));
    }

    public string Id { get; }

    public string AppId { get; }

    /// <summary>The inputs exactly as received.</summary>
    public JsonElement Inputs { get; }

    public DateTimeOffset CreatedAt { get; }

    public bool Fails { get; }

    public byte[] Seed { get; }

    /// <summary>Where the run is now; fixes the output link expiry the first time completion is seen.</summary>
    public RunState Observe(DateTimeOffset now, SimulatorOptions options)
    {
        lock (_gate)
        {
            if (_terminalStatus is null)
            {
                var queued = CreatedAt.AddSeconds(options.QueuedSeconds);
                var running = queued.AddSeconds(options.RunningSeconds);
                if (now < queued)
                    return new RunState("queued", CreatedAt, null);
                if (now < running)
                    return new RunState("running", queued, null);

                _terminalStatus = Fails ? "failed" : "completed";
                _terminalAt = running;
                var expiry = now.AddSeconds(options.OutputUrlLifetimeSeconds);
                _outputExpires = (long)Math.Ceiling(expiry.ToUnixTimeMilliseconds() / 1000.0);
            }

            return new RunState(_terminalStatus, _terminalAt, _terminalStatus == "completed" ? _outputExpires : null);
        }
    }

    /// <summary>Records a status poll; false (and no new baseline) when it came too soon after the last accepted one.</summary>
    public bool TryAcceptPoll(DateTimeOffset now, TimeSpan minInterval, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            if (_lastPollAt is { } last && now - last < minInterval)
            {
                retryAfter = minInterval - (now - last);
                return false;
            }

            _lastPollAt = now;
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    public void CountStatusCall(DateTimeOffset now)
    {
        lock (_gate)
            _statusCallTimes.Add(now);
    }

    public void CountOutputCall() => Interlocked.Increment(ref _outputCalls);

    public (int StatusCalls, int OutputCalls, DateTimeOffset[] StatusCallTimes) Counts()
    {
        lock (_gate)
            return (_statusCallTimes.Count, Volatile.Read(ref _outputCalls), [.. _statusCallTimes]);
    }
}

/// <summary>Status at one moment: <paramref name="OutputExpires"/> (unix seconds) only when completed.</summary>
internal sealed record RunState(string Status, DateTimeOffset UpdatedAt, long? OutputExpires);
