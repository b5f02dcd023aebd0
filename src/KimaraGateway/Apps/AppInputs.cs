using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KimaraGateway.Apps;

/// <summary>A file part of a multipart/form-data submission, held only while it is within the largest image limit.</summary>
/// <param name="Bytes">The content, or null when it was larger than any image field accepts (it was not kept).</param>
/// <param name="Length">Bytes received (up to the point reading stopped when <paramref name="Bytes"/> is null).</param>
public sealed record UploadedFile(byte[]? Bytes, long Length);

/// <summary>The result of checking one image input: the canonical data: URI to send upstream, or why it was refused.</summary>
public sealed record ImageCheck(string? DataUri, ImageInfo? Info, string? Error);

/// <summary>
/// A submission's inputs as the caller sent them (JSON values, plus file parts for multipart), before validation.
/// Image checks are done once and remembered, so validation and the canonical object agree.
/// </summary>
public sealed partial class AppInputs(JsonObject values, IReadOnlyDictionary<string, UploadedFile>? files = null)
{
    private readonly Dictionary<string, ImageCheck> _images = new(StringComparer.Ordinal);

    public JsonObject Values { get; } = values;

    public IReadOnlyDictionary<string, UploadedFile> Files { get; } = files ?? new Dictionary<string, UploadedFile>();

    public IEnumerable<string> Names => Values.Select(p => p.Key).Concat(Files.Keys);

    public bool Has(string name) => Values.ContainsKey(name) || Files.ContainsKey(name);

    public ImageCheck Image(InputField field)
    {
        if (!_images.TryGetValue(field.Name, out var check))
        {
            check = CheckImage(field);
            _images[field.Name] = check;
        }

        return check;
    }

    private ImageCheck CheckImage(InputField field)
    {
        byte[] bytes;
        if (Files.TryGetValue(field.Name, out var file))
        {
            if (file.Bytes is null || file.Length > field.MaxBytes)
            {
                return Refused($"is larger than {Limits.Bytes(field.MaxBytes)}");
            }

            bytes = file.Bytes;
        }
        else
        {
            var node = Values[field.Name];
            if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
            {
                return Refused($"must be an image: a data:image/...;base64,... string in JSON or a file part in multipart/form-data; got {JsonKinds.Describe(node)}");
            }

            var match = DataUri().Match(text);
            if (!match.Success)
            {
                return Refused("must be a data: URI (data:image/png;base64,...) or a file part in multipart/form-data");
            }

            var base64 = match.Groups["data"];
            // Refuse by the encoded length before decoding, so an oversized string is never expanded.
            if (base64.Length / 4L * 3 > field.MaxBytes + 3)
            {
                return Refused($"is larger than {Limits.Bytes(field.MaxBytes)}");
            }

            bytes = new byte[(base64.Length + 3) / 4 * 3];
            if (!Convert.TryFromBase64Chars(text.AsSpan(base64.Index, base64.Length), bytes, out var written))
            {
                return Refused("is not valid base64 after 'base64,'");
            }

            bytes = bytes[..written];
            if (bytes.Length > field.MaxBytes)
            {
                return Refused($"is larger than {Limits.Bytes(field.MaxBytes)}");
            }
        }

        var (info, error) = ImageInspector.Inspect(bytes);
        if (info is null)
        {
            return Refused(error!);
        }

        if (!field.ContentTypes.Contains(info.ContentType))
        {
            return Refused($"is {info.ContentType}; this field takes {string.Join(", ", field.ContentTypes)}");
        }

        if (info.Width > field.MaxWidth || info.Height > field.MaxHeight)
        {
            return Refused($"is {info.Width}×{info.Height} pixels; at most {field.MaxWidth}×{field.MaxHeight} is accepted");
        }

        return new ImageCheck($"data:{info.ContentType};base64,{Convert.ToBase64String(bytes)}", info, null);
    }

    private static ImageCheck Refused(string error) => new(null, null, error);

    [GeneratedRegex(@"^data:(?<type>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,(?<data>.*)$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex DataUri();
}
