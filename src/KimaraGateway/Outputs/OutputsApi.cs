using System.Globalization;
using System.Security.Claims;
using KimaraGateway.Callers;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace KimaraGateway.Outputs;

/// <summary>The output routes: the owner's authenticated download, and the signed link that needs no header.</summary>
public static class OutputsApi
{
    public const string GetRunOutputRoute = "GetRunOutput";
    public const string GetSignedOutputRoute = "GetSignedOutput";

    /// <summary>Where signed output links point: <c>/outputs/{id}?expires=…&amp;sig=…</c> (built by <see cref="OutputLinks"/>).</summary>
    public const string SignedOutputPathPrefix = "/outputs";
    public const string LinkInvalid = "output_link_invalid";
    public const string LinkExpired = "output_link_expired";

    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/runs/{id}/output", GetRunOutput)
            .WithTags("Runs")
            .RequireCaller()
            .WithName(GetRunOutputRoute)
            .WithSummary("Download a run's output")
            .WithDescription("The owner's download. Supports Range (206/416) and If-None-Match (304); the bytes never change, so they may be cached for long.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .Produces(StatusCodes.Status206PartialContent)
            .Produces(StatusCodes.Status304NotModified)
            .Produces(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone)
            .ProducesProblem(StatusCodes.Status502BadGateway);

        app.MapGet(SignedOutputPathPrefix + "/{id}", GetSignedOutput)
            .WithTags("Runs")
            .AllowAnonymous()
            .WithName(GetSignedOutputRoute)
            .WithSummary("Download a run's output through its signed link")
            .WithDescription("The run's output_url: needs no header (works in <img src> and plain curl) until it expires; read the run again for a fresh one. Same Range and caching behaviour as GET /runs/{id}/output.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .Produces(StatusCodes.Status206PartialContent)
            .Produces(StatusCodes.Status304NotModified)
            .Produces(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone)
            .ProducesProblem(StatusCodes.Status502BadGateway);
        return app;
    }

    internal static async Task<Results<PhysicalFileHttpResult, FileStreamHttpResult, ProxiedOutputResult, ProblemHttpResult>> GetRunOutput(
        string id,
        ClaimsPrincipal user,
        RunReader reader,
        OutputServer server,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        var run = await reader.GetOwnedAsync(id, user, "GET /runs/{id}/output", cancellationToken);
        return run is null ? RunsApi.RunNotFound() : await server.ServeAsync(run, context, cancellationToken);
    }

    internal static async Task<Results<PhysicalFileHttpResult, FileStreamHttpResult, ProxiedOutputResult, ProblemHttpResult>> GetSignedOutput(
        string id,
        [FromQuery] string? expires,
        [FromQuery] string? sig,
        OutputLinks links,
        IRunStore store,
        OutputServer server,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt))
        {
            return Problems.Result(StatusCodes.Status403Forbidden, LinkInvalid, "This output link is incomplete or was altered.");
        }

        switch (links.Check(id, expiresAt, sig))
        {
            case LinkCheck.Invalid:
                return Problems.Result(StatusCodes.Status403Forbidden, LinkInvalid, "This output link is incomplete or was altered.");
            case LinkCheck.Expired:
                return Problems.Result(StatusCodes.Status403Forbidden, LinkExpired, "This output link has expired; read the run again for a fresh output_url.");
        }

        var run = RunIds.IsWellFormed(id) ? await store.GetAsync(id, cancellationToken) : null;
        return run is null ? RunsApi.RunNotFound() : await server.ServeAsync(run, context, cancellationToken);
    }
}
