using System.Security.Claims;
using System.Text.Json.Nodes;
using KimaraGateway.Callers;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KimaraGateway.Apps;

/// <summary>An App as a frontend needs it to render a form and submit it.</summary>
/// <param name="Id">The App id: <c>app_id</c> of <c>POST /runs</c>.</param>
/// <param name="Name">Display name.</param>
/// <param name="Description">What the App does.</param>
/// <param name="InputSchema">The inputs as JSON Schema (draft 2020-12).</param>
/// <param name="Example">A valid inputs object.</param>
/// <param name="RunUrl">Where to POST the bare inputs (JSON, or multipart/form-data with file parts for image fields).</param>
/// <param name="Accepts">Content types a submission may use.</param>
public sealed record AppResponse(string Id, string Name, string? Description, JsonObject InputSchema, JsonObject Example, string RunUrl, IReadOnlyList<string> Accepts);

/// <summary>The Apps this caller may run.</summary>
public sealed record AppListResponse(IReadOnlyList<AppResponse> Data);

/// <summary>Discovery of the App catalogue, and a per-App submission route that takes the bare inputs.</summary>
public static class AppsApi
{
    public const string SubmitAppRunRoute = "SubmitAppRun";
    public const string RunsPath = "/apps/{appId}/runs";

    public static IEndpointRouteBuilder MapApps(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/apps")
            .WithTags("Apps")
            .RequireCaller();

        group.MapGet("/", ListApps)
            .WithName("ListApps")
            .WithSummary("List the Apps this caller may run")
            .WithDescription("Each App with its inputs as JSON Schema (draft 2020-12) and a valid example.");

        group.MapGet("/{appId}", GetApp)
            .WithName("GetApp")
            .WithSummary("Get an App and its input schema")
            .WithDescription("An App this caller may not run is a 404, exactly like one that does not exist.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        // Swagger shows this route once per App (see AppRunsDocumentFilter), each with that App's schema and example.
        group.MapPost("/{appId}/runs", RunsApi.SubmitRun)
            .WithName(SubmitAppRunRoute)
            .WithCallerSubmissionRules()
            .WithSummary("Run an App")
            .WithDescription("Same as POST /runs with the App in the path and the bare inputs as the body.")
            .Accepts<JsonObject>("application/json", "multipart/form-data")
            .ProducesSubmissionProblems();

        return app;
    }

    internal static Ok<AppListResponse> ListApps(ClaimsPrincipal user, AppCatalogue catalogue) =>
        TypedResults.Ok(new AppListResponse([.. catalogue.Visible(user).Select(ToResponse)]));

    internal static Results<Ok<AppResponse>, ProblemHttpResult> GetApp(string appId, ClaimsPrincipal user, AppCatalogue catalogue) =>
        catalogue.Find(appId, user) is { } entry ? TypedResults.Ok(ToResponse(entry)) : AppNotFound(appId);

    internal static ProblemHttpResult AppNotFound(string appId) =>
        Problems.Result(StatusCodes.Status404NotFound, Problems.AppNotFound, $"No App '{appId}' exists that this caller may run; GET /apps lists them.");

    internal static AppResponse ToResponse(CatalogueEntry entry) => new(
        entry.App.Id,
        entry.App.Name,
        entry.App.Description,
        entry.Schema.DeepClone().AsObject(),
        entry.Example.DeepClone().AsObject(),
        RunsPath.Replace("{appId}", Uri.EscapeDataString(entry.App.Id), StringComparison.Ordinal),
        entry.App.HasImages ? ["application/json", "multipart/form-data"] : ["application/json"]);
}
