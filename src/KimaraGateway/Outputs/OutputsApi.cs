using System.Security.Claims;
using KimaraGateway.Callers;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KimaraGateway.Outputs;

/// <summary>The output routes.</summary>
public static class OutputsApi
{
    public const string GetRunOutputRoute = "GetRunOutput";
    public const string HttpClientName = "outputs";

    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/runs/{id}/output", GetRunOutput)
            .WithTags("Runs")
            .RequireAuthorization(CallerExtensions.CallerPolicy)
            .WithName(GetRunOutputRoute)
            .WithSummary("Download a run's output")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        return app;
    }

    internal static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetRunOutput(
        string id,
        ClaimsPrincipal user,
        RunReader reader,
        IHttpClientFactory clients,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        var run = await reader.GetOwnedAsync(id, user, cancellationToken);
        if (run is null)
        {
            return RunsApi.RunNotFound();
        }

        if (run.Status != RunStatus.Completed || run.UpstreamOutputUrl is null)
        {
            return Problems.Result(StatusCodes.Status404NotFound, "output_not_ready", "The run has no output (yet).");
        }

        var upstream = await clients.CreateClient(HttpClientName).GetAsync(run.UpstreamOutputUrl, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!upstream.IsSuccessStatusCode)
        {
            upstream.Dispose();
            return Problems.Result(StatusCodes.Status410Gone, "output_expired", "Kimara's link to this output has expired.");
        }

        context.Response.RegisterForDispose(upstream);
        return TypedResults.Stream(await upstream.Content.ReadAsStreamAsync(cancellationToken), upstream.Content.Headers.ContentType?.ToString() ?? "application/octet-stream");
    }
}
