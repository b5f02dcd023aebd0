using System.Text.Json.Nodes;

namespace KimaraGateway.Upstream;

/// <summary>Kimara's <c>POST /runs</c> body.</summary>
public sealed record KimaraSubmitRequest(string AppId, JsonObject Inputs);

/// <summary>Kimara's run object, as returned by <c>POST /runs</c> and <c>GET /runs/{id}</c>.</summary>
public sealed record KimaraRun
{
    public string Id { get; init; } = "";

    public string? AppId { get; init; }

    public string Status { get; init; } = "";

    public string? OutputUrl { get; init; }

    public string? Error { get; init; }
}

/// <summary>Kimara's error body.</summary>
public sealed record KimaraError(string? Error, string? Message);
