using System.Globalization;
using System.Security.Claims;
using KimaraGateway.Apps;
using KimaraGateway.Callers;
using KimaraGateway.Hosting;
using KimaraGateway.Outputs;
using KimaraGateway.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace KimaraGateway.Runs;

/// <summary>The caller-facing run routes, in Kimara's shape.</summary>
public static class RunsApi
{
    public const string GetRunRoute = "GetRun";

    public static IEndpointRouteBuilder MapRuns(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/runs")
            .WithTags("Runs")
            .RequireCaller();

        group.MapPost("/", SubmitRun)
            .WithName("SubmitRun")
            .WithCallerSubmissionRules()
            .WithSummary("Submit a run")
            .WithDescription("Validates the inputs against the App's schema, records the run and forwards it to Kimara. Poll GET /runs/{id} or subscribe to /runs/{id}/events.")
            .Accepts<SubmitRunRequest>("application/json", "multipart/form-data")
            .ProducesSubmissionProblems();

        group.MapGet("/{id}", GetRun)
            .WithName(GetRunRoute)
            .WithSummary("Get a run")
            .WithDescription("Served from the gateway's run store. Send If-None-Match with the last ETag to get 304 when nothing changed; add ?wait=N (N ≤ 30) to wait up to N seconds for a change (then 304 if none came). Cache-Control max-age and Retry-After say when the next upstream poll is due.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status304NotModified);

        group.MapGet("/", ListRuns)
            .WithName("ListRuns")
            .WithSummary("List the caller's runs")
            .WithDescription("Newest first; pass next_cursor back as cursor for the next page. Filter by status and app_id; limit 1 to 100 (default 20).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapGet("/{id}/events", RunEvents.StreamAsync)
            .WithName("GetRunEvents")
            .WithSummary("Subscribe to a run's status changes (Server-Sent Events)")
            .WithDescription("A snapshot on connect, one `status` event per change (id = run version), heartbeat comments, Last-Event-ID resume; the stream ends after completed or failed.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    /// <summary>The problems a submission can answer with, on every route that submits a run.</summary>
    public static RouteHandlerBuilder ProducesSubmissionProblems(this RouteHandlerBuilder route) => route
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status502BadGateway)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .ProducesProblem(StatusCodes.Status504GatewayTimeout);

    internal static async Task<Results<Accepted<RunResponse>, ValidationProblem, ProblemHttpResult>> SubmitRun(
        HttpContext context,
        ClaimsPrincipal user,
        AppSubmissions apps,
        RunSubmitter submitter,
        OutputLinks links,
        CancellationToken cancellationToken)
    {
        var (run, problem, errors) = await apps.ReadAsync(context, user, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (errors is not null)
        {
            return Problems.Validation(errors);
        }

        var outcome = await submitter.SubmitAsync(user.GetCallerId(), run!.AppId, run.Inputs, cancellationToken);
        var body = ToResponse(outcome.Run, context, links);
        if (outcome.Accepted)
        {
            return TypedResults.Accepted(RunUrl(context, outcome.Run.Id), body);
        }

        var extensions = new Dictionary<string, object?> { ["run_id"] = outcome.Run.Id };
        var upstream = outcome.Upstream;
        return upstream.Outcome switch
        {
            UpstreamOutcome.Unknown => Problems.Result(StatusCodes.Status504GatewayTimeout, Problems.UpstreamTimeout,
                "Kimara did not answer the submission in time. It was not retried (a second POST would be a second paid run); the run is recorded as failed with error_code submission_outcome_unknown.", extensions),
            UpstreamOutcome.Rejected => Problems.Result(StatusCodes.Status502BadGateway, Problems.UpstreamRejected,
                "Kimara rejected the submission; nothing was started.", extensions),
            UpstreamOutcome.Unavailable when upstream.StatusCode is >= 500 => Problems.Result(StatusCodes.Status502BadGateway, Problems.UpstreamUnavailable,
                "Kimara answered with an error; nothing was started. Try again later.", extensions),
            _ => Problems.Unavailable(context, Problems.UpstreamUnavailable,
                "Kimara is unavailable right now; nothing was started. Try again after Retry-After.", upstream.RetryAfter ?? TimeSpan.FromSeconds(5)),
        };
    }

    internal static async Task<Results<Ok<RunResponse>, StatusCodeHttpResult, ProblemHttpResult>> GetRun(
        string id,
        HttpContext context,
        ClaimsPrincipal user,
        RunReader reader,
        OutputLinks links,
        [FromQuery] string? wait,
        CancellationToken cancellationToken)
    {
        if (!RunQuery.TryParseWait(wait, out var waitSeconds))
        {
            return BadQuery("wait", $"wait must be a whole number of seconds from 0 to {RunQuery.MaxWaitSeconds}.");
        }

        var ifNoneMatch = context.Request.Headers.IfNoneMatch;
        var run = await reader.GetOwnedAsync(id, user, "GET /runs/{id}", cancellationToken);

        // Long poll: only worth holding the request while the caller already has the current version.
        if (run is not null && waitSeconds > 0 && !run.IsTerminal && RunQuery.IfNoneMatchMatches(ifNoneMatch, run.ETag, matchAny: false))
        {
            run = await reader.WaitForChangeAsync(run, TimeSpan.FromSeconds(waitSeconds), cancellationToken);
        }

        if (run is null)
        {
            return RunNotFound();
        }

        context.Response.Headers.ETag = run.ETag;
        await AddPollHintAsync(context, reader, run, cancellationToken);
        if (RunQuery.IfNoneMatchMatches(ifNoneMatch, run.ETag))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Ok(ToResponse(run, context, links));
    }

    internal static async Task<Results<Ok<RunListResponse>, ProblemHttpResult>> ListRuns(
        HttpContext context,
        ClaimsPrincipal user,
        IRunStore store,
        OutputLinks links,
        GatewayMetrics metrics,
        [FromQuery] string? limit,
        [FromQuery] string? cursor,
        [FromQuery] string? status,
        [FromQuery(Name = "app_id")] string? appId,
        [FromQuery] string? caller,
        CancellationToken cancellationToken)
    {
        if (!RunQuery.TryParseLimit(limit, out var size))
        {
            return BadQuery("limit", $"limit must be a whole number from 1 to {RunQuery.MaxLimit}.");
        }

        if (!RunQuery.TryParseStatus(status, out var statusFilter))
        {
            return BadQuery("status", "status must be one of queued, running, completed or failed.");
        }

        if (!RunQuery.IsValidAppId(appId))
        {
            return BadQuery("app_id", $"app_id must be 1 to {RunQuery.MaxAppIdLength} characters.");
        }

        if (cursor is not null && !RunCursor.TryParse(cursor, out _))
        {
            return BadQuery("cursor", "cursor is not one this API issued; pass next_cursor from the previous page unchanged.");
        }

        var owner = user.GetCallerId();
        if (caller is not null && caller != owner)
        {
            if (!user.IsInRole(CallerClaims.AdminRole))
            {
                return Problems.Result(StatusCodes.Status403Forbidden, Problems.Forbidden, "Only an admin caller may list another caller's runs.");
            }

            owner = caller;
        }

        var page = await store.ListAsync(owner, new RunListQuery(size, cursor, statusFilter, appId), cancellationToken);
        metrics.CacheServedRead("GET /runs");
        return TypedResults.Ok(new RunListResponse([.. page.Runs.Select(r => ToResponse(r, context, links))], page.NextCursor));
    }

    /// <summary>A 400 for a bad query value, naming the parameter in <c>errors</c> like a validation problem does.</summary>
    private static ProblemHttpResult BadQuery(string parameter, string detail) =>
        Problems.Result(StatusCodes.Status400BadRequest, Problems.ValidationFailed, detail,
            new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [parameter] = [detail] } });

    internal static ProblemHttpResult RunNotFound() =>
        Problems.Result(StatusCodes.Status404NotFound, Problems.RunNotFound, "No run with this id exists for this caller.");

    internal static RunResponse ToResponse(RunRecord run, HttpContext context, OutputLinks links) => new()
    {
        Id = run.Id,
        AppId = run.AppId,
        Status = run.Status,
        OutputUrl = run.Status == RunStatus.Completed ? links.SignedUrl(context, run) : null,
        Output = run.Status == RunStatus.Completed && run.Output is { } o ? new RunOutputResponse(o.ContentType, o.Bytes, o.Sha256) : null,
        Error = run.Status == RunStatus.Failed ? run.Error : null,
        ErrorCode = run.Status == RunStatus.Failed ? run.ErrorCode : null,
        CreatedAt = run.CreatedAt,
        UpdatedAt = run.UpdatedAt,
        CompletedAt = run.CompletedAt,
    };

    private static string RunUrl(HttpContext context, string id) =>
        context.RequestServices.GetRequiredService<LinkGenerator>().GetUriByName(context, GetRunRoute, new { id })
        ?? $"/runs/{id}";

    /// <summary>Tells pollers when asking again can first be useful: the run's next upstream poll.</summary>
    private static async Task AddPollHintAsync(HttpContext context, RunReader reader, RunRecord run, CancellationToken cancellationToken)
    {
        if (run.IsTerminal)
        {
            context.Response.Headers.CacheControl = "private, no-cache";
            return;
        }

        var seconds = Math.Clamp((int)Math.Ceiling((await reader.NextUsefulPollAsync(run, cancellationToken)).TotalSeconds), 1, 5);
        context.Response.Headers.CacheControl = $"private, max-age={seconds.ToString(CultureInfo.InvariantCulture)}";
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
    }
}
