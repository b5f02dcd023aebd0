using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Kimara.Simulator.Apps;
using Kimara.Simulator.Outputs;

namespace Kimara.Simulator.Runs;

/// <summary>Kimara's run API: <c>POST /runs</c> and <c>GET /runs/{id}</c>.</summary>
internal static class RunsEndpoints
{
    /// <summary>Set on the HttpContext when a POST created a run, so the counters can tell rejected posts apart.</summary>
    public const string RunCreatedItem = "Kimara.Simulator.RunCreated";

    public static IEndpointRouteBuilder MapRuns(this IEndpointRouteBuilder app)
    {
        app.MapPost("/runs", CreateRun)
            .WithName("CreateRun")
            .WithMetadata(new SimRoute(SimulatorState.PostRunsRoute, "post", null));
        app.MapGet("/runs/{id}", GetRun)
            .WithName("GetRun")
            .WithMetadata(new SimRoute(SimulatorState.GetRunRoute, "get", "id"));
        return app;
    }

    private static async Task<IResult> CreateRun(
        HttpContext context, SimulatorOptions options, SimulatorState state, TimeProvider time)
    {
        if (!ApiResponses.HasApiKey(context.Request, options))
            return ApiResponses.InvalidApiKey();

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return ApiResponses.Error(StatusCodes.Status400BadRequest, "invalid_request", "The body is not valid JSON.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return ApiResponses.Error(StatusCodes.Status400BadRequest, "invalid_request", "The body must be a JSON object.");
            if (!root.TryGetProperty("app_id", out var appIdElement) || appIdElement.ValueKind != JsonValueKind.String
                || appIdElement.GetString() is not { Length: > 0 } appId)
                return ApiResponses.Error(StatusCodes.Status400BadRequest, "invalid_request", "'app_id' must be a non-empty string.");

            var inputs = root.TryGetProperty("inputs", out var inputsElement) ? inputsElement.Clone() : EmptyObject();
            if (inputs.ValueKind != JsonValueKind.Object)
                return ApiResponses.Error(StatusCodes.Status400BadRequest, "invalid_request", "'inputs' must be a JSON object.");
            if (!AppCatalog.TryGet(appId, out var app))
                return ApiResponses.Error(StatusCodes.Status404NotFound, "app_not_found", $"No App with id '{appId}'.");

            var problems = app.Validate(inputs);
            if (problems.Count > 0)
            {
                return ApiResponses.Error(StatusCodes.Status422UnprocessableEntity, "invalid_inputs",
                    "The inputs do not match the App's fields.", problems);
            }

            var run = new SimRun(NewRunId(), appId, inputs, time.GetUtcNow());
            state.Add(run);
            context.Items[RunCreatedItem] = true;
            return TypedResults.Ok(new RunResponse(run.Id, run.AppId, "queued", null, null,
                run.CreatedAt.UtcDateTime, run.CreatedAt.UtcDateTime));
        }
    }

    private static IResult GetRun(
        string id, HttpContext context, SimulatorOptions options, SimulatorState state, OutputSigner signer, TimeProvider time)
    {
        if (!ApiResponses.HasApiKey(context.Request, options))
            return ApiResponses.InvalidApiKey();
        if (!state.TryGet(id, out var run))
            return ApiResponses.Error(StatusCodes.Status404NotFound, "run_not_found", $"No run with id '{id}'.");

        var now = time.GetUtcNow();
        if (!run.TryAcceptPoll(now, TimeSpan.FromSeconds(options.MinPollIntervalSeconds), out var retryAfter))
        {
            context.Response.Headers.RetryAfter =
                Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return ApiResponses.Error(StatusCodes.Status429TooManyRequests, "rate_limited",
                $"Poll a run at most once every {options.MinPollIntervalSeconds} s.");
        }

        var observed = run.Observe(now, options);
        string? outputUrl = null;
        if (observed.OutputExpires is { } expires)
        {
            var request = context.Request;
            var baseUrl = options.PublicBaseUrl ?? $"{request.Scheme}://{request.Host}{request.PathBase}";
            outputUrl = signer.OutputUrl(baseUrl, run.Id, expires);
        }

        var error = observed.Status == "failed" ? "simulated failure: an input contained the [fail] token" : null;
        return TypedResults.Ok(new RunResponse(run.Id, run.AppId, observed.Status, outputUrl, error,
            run.CreatedAt.UtcDateTime, observed.UpdatedAt.UtcDateTime));
    }

    private static string NewRunId() => "run_" + RandomNumberGenerator.GetHexString(24, lowercase: true);

    private static JsonElement EmptyObject()
    {
        using var empty = JsonDocument.Parse("{}");
        return empty.RootElement.Clone();
    }
}

/// <summary>A run as Kimara returns it (snake_case; <c>output_url</c> and <c>error</c> only when set).</summary>
internal sealed record RunResponse(
    string Id, string AppId, string Status, string? OutputUrl, string? Error, DateTime CreatedAt, DateTime UpdatedAt);
