namespace KimaraGateway.Outputs;

/// <summary>Builds the gateway links callers get for a run's output; Kimara's own URL is never shown.</summary>
public sealed class OutputLinks(LinkGenerator links)
{
    public string? SignedUrl(HttpContext context, Runs.RunRecord run) =>
        links.GetUriByName(context, OutputsApi.GetRunOutputRoute, new { id = run.Id });
}
