using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace KimaraGateway.Runs;

/// <summary>The four statuses of Kimara's API, which the gateway reports unchanged.</summary>
public enum RunStatus
{
    Queued,
    Running,
    Completed,
    Failed,
}

/// <summary>Where the gateway is in handling a run, finer than the status a caller sees.</summary>
public enum RunStage
{
    /// <summary>Recorded; the upstream POST is about to be sent or is in flight.</summary>
    Submitting,

    /// <summary>Kimara accepted it; the tracker polls it.</summary>
    Tracking,

    /// <summary>Kimara completed it; the output is being fetched before the run is reported completed.</summary>
    Rehosting,

    /// <summary>Completed or failed for good.</summary>
    Done,
}

/// <summary>One step of a run's visible life; replayed to event-stream clients that resume.</summary>
public sealed record RunTransition(long Version, RunStatus Status, DateTimeOffset At);

/// <summary>Metadata of a stored output.</summary>
public sealed record OutputInfo(string ContentType, long Bytes, string Sha256);

/// <summary>A run as the gateway stores it. <see cref="Version"/> grows by one on every change a caller can see.</summary>
public sealed record RunRecord
{
    public required string Id { get; init; }

    public required string CallerId { get; init; }

    public required string AppId { get; init; }

    public RunStatus Status { get; init; } = RunStatus.Queued;

    public RunStage Stage { get; init; } = RunStage.Submitting;

    public long Version { get; init; } = 1;

    public string? UpstreamId { get; init; }

    public string? UpstreamOutputUrl { get; init; }

    public OutputInfo? Output { get; init; }

    public string? Error { get; init; }

    public string? ErrorCode { get; init; }

    public JsonObject? Inputs { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>When the tracker last heard from Kimara about this run.</summary>
    public DateTimeOffset? LastPolledAt { get; init; }

    /// <summary>Every visible status change, oldest first, one per version.</summary>
    public IReadOnlyList<RunTransition> History { get; init; } = [];

    [JsonIgnore]
    public bool IsTerminal => Status is RunStatus.Completed or RunStatus.Failed;

    [JsonIgnore]
    public string ETag => $"\"{Id}-{Version}\"";

    /// <summary>A new version of the run in <paramref name="status"/>, recorded in its history.</summary>
    public RunRecord Advance(RunStatus status, DateTimeOffset at) => this with
    {
        Status = status,
        Version = Version + 1,
        UpdatedAt = at,
        CompletedAt = status is RunStatus.Completed or RunStatus.Failed ? at : CompletedAt,
        History = [.. History, new RunTransition(Version + 1, status, at)],
    };

    /// <summary>A new version of the run, failed for good with a stable code and a human message.</summary>
    public RunRecord Fail(string code, string message, DateTimeOffset at) =>
        Advance(RunStatus.Failed, at) with { Stage = RunStage.Done, ErrorCode = code, Error = message };
}
