using System.Security.Claims;
using System.Text.Json.Nodes;
using FluentValidation;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KimaraGateway.Apps;

/// <summary>A submission that passed its App's rules: the App id and the complete, canonical inputs to send upstream.</summary>
public sealed record ValidatedRun(string AppId, JsonObject Inputs);

/// <summary>
/// Reads and validates a submission before anything touches the run store or Kimara: body shape, the App (unknown or
/// not allowed to this caller → 404), every input against the App's cached rules, then defaults applied so the upstream
/// always receives the complete input object.
/// </summary>
public sealed partial class AppSubmissions(AppCatalogue catalogue, IValidator<SubmitRunRequest> shape, ILogger<AppSubmissions> logger)
{
    public const string AppIdRouteValue = "appId";

    public async Task<(ValidatedRun? Run, ProblemHttpResult? Problem, IDictionary<string, string[]>? Errors)> ReadAsync(
        HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var snapshot = catalogue.Current;
        var routeAppId = context.GetRouteValue(AppIdRouteValue) as string;
        var (raw, problem, errors) = await RunRequestReader.ReadAsync(context.Request, routeAppId, snapshot.Limits, cancellationToken);
        if (problem is not null || errors is not null)
        {
            return (null, problem, errors);
        }

        // Under /apps/{appId}/runs the App is part of the path, so any id that names no App is a 404, not a bad field.
        if (routeAppId is null && await shape.ValidateAsync(raw!.Request, cancellationToken) is { IsValid: false } shapeResult)
        {
            return (null, null, shapeResult.ToDictionary());
        }

        var appId = raw!.Request.AppId!;
        if (catalogue.Find(appId, user) is not { } entry)
        {
            return (null, AppsApi.AppNotFound(appId), null);
        }

        var inputs = new AppInputs(FromForm(entry.App, raw), raw.Files);
        var validation = await entry.Validator.ValidateAsync(inputs, cancellationToken);
        if (!validation.IsValid)
        {
            var refused = validation.ToDictionary();
            LogRefused(logger, appId, refused.Keys);
            return (null, null, refused);
        }

        return (new ValidatedRun(appId, Canonical(entry.App, inputs)), null, null);
    }

    /// <summary>The JSON inputs, or a multipart submission's form values read as their fields' types (left as text when they are not one).</summary>
    private static JsonObject FromForm(AppDefinition app, RawSubmission raw)
    {
        var values = raw.Request.Inputs!;
        foreach (var (name, text) in raw.Form)
        {
            values[name] = app.Field(name) is { } field ? AppCatalogueBuilder.FromText(field, text) ?? JsonValue.Create(text) : JsonValue.Create(text);
        }

        return values;
    }

    /// <summary>Every field in catalogue order: the caller's value, else the default, else (seeds) a random one.</summary>
    private static JsonObject Canonical(AppDefinition app, AppInputs inputs)
    {
        var canonical = new JsonObject();
        foreach (var field in app.Fields)
        {
            if (field.Type == FieldType.Image)
            {
                if (inputs.Has(field.Name))
                {
                    canonical[field.Name] = inputs.Image(field).DataUri;
                }
            }
            else if (inputs.Values[field.Name] is { } value)
            {
                canonical[field.Name] = value.DeepClone();
            }
            else if (field.Default is { } fallback)
            {
                canonical[field.Name] = fallback.DeepClone();
            }
            else if (field.Type == FieldType.Seed)
            {
                canonical[field.Name] = RandomSeed(field);
            }
        }

        return canonical;
    }

    private static long RandomSeed(InputField field) => Random.Shared.NextInt64((long)field.Min!.Value, (long)field.Max!.Value + 1);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submission for App {AppId} refused before reaching Kimara; invalid: {Fields}")]
    private static partial void LogRefused(ILogger logger, string appId, IEnumerable<string> fields);
}
