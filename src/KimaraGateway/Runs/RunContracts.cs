using System.Text.Json.Nodes;

namespace KimaraGateway.Runs;

/// <summary>The body of <c>POST /runs</c>, exactly as Kimara takes it.</summary>
/// <param name="AppId">The App to run (see <c>GET /apps</c>).</param>
/// <param name="Inputs">The App's input fields; omitted fields take the App's defaults.</param>
public sealed record SubmitRunRequest(string? AppId, JsonObject? Inputs);

/// <summary>Metadata of a run's stored output.</summary>
public sealed record RunOutputResponse(string ContentType, long Bytes, string Sha256);

/// <summary>A run as callers see it: Kimara's shape, with gateway ids and gateway output links.</summary>
public sealed record RunResponse
{
    public required string Id { get; init; }

    public required string AppId { get; init; }

    /// <summary><c>queued</c>, <c>running</c>, <c>completed</c> or <c>failed</c>.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>A signed, expiring gateway link to the output; only when completed. Needs no header.</summary>
    public string? OutputUrl { get; init; }

    public RunOutputResponse? Output { get; init; }

    /// <summary>What went wrong; only when failed.</summary>
    public string? Error { get; init; }

    /// <summary>A stable code for <see cref="Error"/>, e.g. <c>run_failed</c> or <c>output_unavailable</c>.</summary>
    public string? ErrorCode { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }
}

/// <summary>A page of the caller's runs, newest first.</summary>
/// <param name="Data">The runs.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; absent on the last page.</param>
public sealed record RunListResponse(IReadOnlyList<RunResponse> Data, string? NextCursor);
