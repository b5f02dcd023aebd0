using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Apps;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace KimaraGateway.Runs;

/// <summary>A submission as read from the body, before its App's rules apply.</summary>
/// <param name="Request">app_id and, for JSON, the inputs object (empty for multipart, whose values are in <paramref name="Form"/>).</param>
/// <param name="Form">Form values of a multipart submission, still text: their App's field types say what they mean.</param>
/// <param name="Files">File parts of a multipart submission.</param>
public sealed record RawSubmission(SubmitRunRequest Request, IReadOnlyDictionary<string, string> Form, IReadOnlyDictionary<string, UploadedFile> Files);

/// <summary>
/// Reads the body of a submission without model binding, so every malformed body gets a precise 4xx problem instead of
/// the framework's exception path: JSON (<c>{ app_id, inputs }</c>, or the bare inputs under <c>/apps/{appId}/runs</c>)
/// or multipart/form-data (form values and image file parts named after the fields). File parts are kept only up to
/// the largest image field's size.
/// </summary>
public static class RunRequestReader
{
    private const int MaxBoundaryLength = 70;

    public static async Task<(RawSubmission? Submission, ProblemHttpResult? Problem, Dictionary<string, string[]>? Errors)> ReadAsync(
        HttpRequest request, string? routeAppId, SubmissionLimits limits, CancellationToken cancellationToken)
    {
        var isJson = request.HasJsonContentType();
        var isMultipart = MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            && mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase);
        if (!isJson && !isMultipart)
        {
            return (null, Problems.Result(StatusCodes.Status415UnsupportedMediaType, Problems.UnsupportedMediaType,
                "Submissions take application/json, or multipart/form-data for Apps with image fields."), null);
        }

        // The body arrives counted against Apps:MaxRequestBodyBytes (see RequestBodyLimit), which fails the read past it.
        try
        {
            return isJson
                ? await ReadJsonAsync(request.Body, routeAppId, limits, cancellationToken)
                : await ReadMultipartAsync(request.Body, mediaType!, routeAppId, limits, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(limits), null);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or InvalidDataException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                "The request body could not be read: " + ex.Message), null);
        }
    }

    private static async Task<(RawSubmission?, ProblemHttpResult?, Dictionary<string, string[]>?)> ReadJsonAsync(
        Stream body, string? routeAppId, SubmissionLimits limits, CancellationToken cancellationToken)
    {
        JsonNode? parsed;
        try
        {
            parsed = await JsonNode.ParseAsync(body, new JsonNodeOptions { PropertyNameCaseInsensitive = false },
                new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth, AllowDuplicateProperties = false }, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                $"The body is not valid JSON, repeats a property name or nests deeper than {limits.MaxJsonDepth} levels (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})."), null);
        }

        if (parsed is not JsonObject obj)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest, routeAppId is null
                ? "The body must be a JSON object with app_id and inputs."
                : "The body must be a JSON object of the App's inputs."), null);
        }

        if (routeAppId is not null)
        {
            return (new RawSubmission(new SubmitRunRequest(routeAppId, obj), Empty.Form, Empty.Files), null, null);
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (name, _) in obj)
        {
            if (name is not ("app_id" or "inputs"))
            {
                errors[name] = [$"Unknown field '{name}'; a run takes app_id and inputs."];
            }
        }

        var appId = JsonKinds.IsString(obj["app_id"], out var text) ? text : null;
        if (obj.ContainsKey("app_id") && appId is null)
        {
            errors["app_id"] = [$"app_id must be a string; got {JsonKinds.Describe(obj["app_id"])}."];
        }

        var inputs = obj["inputs"] as JsonObject;
        if (obj.ContainsKey("inputs") && inputs is null)
        {
            errors["inputs"] = [$"inputs must be a JSON object; got {JsonKinds.Describe(obj["inputs"])}."];
        }

        return errors.Count > 0
            ? (null, null, errors)
            : (new RawSubmission(new SubmitRunRequest(appId, inputs), Empty.Form, Empty.Files), null, null);
    }

    private static async Task<(RawSubmission?, ProblemHttpResult?, Dictionary<string, string[]>?)> ReadMultipartAsync(
        Stream body, MediaTypeHeaderValue mediaType, string? routeAppId, SubmissionLimits limits, CancellationToken cancellationToken)
    {
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
        if (string.IsNullOrWhiteSpace(boundary) || boundary.Length > MaxBoundaryLength)
        {
            return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                $"multipart/form-data needs a boundary of 1 to {MaxBoundaryLength} characters."), null);
        }

        var reader = new MultipartReader(boundary, body) { HeadersCountLimit = 8, HeadersLengthLimit = 8 * 1024, BodyLengthLimit = limits.MaxBodyBytes };
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new Dictionary<string, UploadedFile>(StringComparer.Ordinal);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var parts = 0;
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            if (++parts > limits.MaxParts)
            {
                return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                    $"A submission has at most {limits.MaxParts} parts."), null);
            }

            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase)
                || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } name)
            {
                return (null, Problems.Result(StatusCodes.Status400BadRequest, Problems.MalformedRequest,
                    "Every part needs Content-Disposition: form-data; name=\"<field>\"."), null);
            }

            var key = name == "app_id" && routeAppId is null ? name : AppInputsValidator.Key(name);
            if (form.ContainsKey(name) || files.ContainsKey(name))
            {
                errors[key] = [$"{key} is given more than once."];
            }

            if (disposition.IsFileDisposition())
            {
                files[name] = await ReadFileAsync(section.Body, limits.MaxFileBytes, cancellationToken);
            }
            else
            {
                using var text = new StreamReader(section.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
                form[name] = await text.ReadToEndAsync(cancellationToken);
            }
        }

        string? appId = routeAppId;
        if (routeAppId is null && form.Remove("app_id", out var formAppId))
        {
            appId = formAppId;
        }

        if (routeAppId is null && files.ContainsKey("app_id"))
        {
            errors["app_id"] = ["app_id must be a form value, not a file."];
        }

        return errors.Count > 0
            ? (null, null, errors)
            : (new RawSubmission(new SubmitRunRequest(appId, []), form, files), null, null);
    }

    /// <summary>Keeps a file part only while it is within <paramref name="maxBytes"/>; past that, stops reading and keeps only its length so far.</summary>
    private static async Task<UploadedFile> ReadFileAsync(Stream part, long maxBytes, CancellationToken cancellationToken)
    {
        using var kept = new MemoryStream();
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await part.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > maxBytes)
            {
                return new UploadedFile(null, total);
            }

            kept.Write(buffer, 0, read);
        }

        return new UploadedFile(kept.ToArray(), total);
    }

    private static ProblemHttpResult TooLarge(SubmissionLimits limits) =>
        Problems.Result(StatusCodes.Status413PayloadTooLarge, Problems.PayloadTooLarge, RequestBodyLimit.Detail(limits.MaxBodyBytes));

    private static class Empty
    {
        public static readonly IReadOnlyDictionary<string, string> Form = new Dictionary<string, string>();
        public static readonly IReadOnlyDictionary<string, UploadedFile> Files = new Dictionary<string, UploadedFile>();
    }
}
