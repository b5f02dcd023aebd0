using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KimaraGateway.Apps;

/// <summary>
/// Turns the configured catalogue into typed App definitions, collecting every inconsistency (a default outside its
/// own bounds, an unknown type, duplicate ids, an example its own rules reject) with the App and field it concerns.
/// </summary>
public static partial class AppCatalogueBuilder
{
    public const long DefaultImageMaxBytes = 10 * 1024 * 1024;
    public const int DefaultImageMaxPixels = 4096;

    /// <summary>A 1×1 PNG: the example for image fields that configure none.</summary>
    public const string ExamplePng = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    public static (IReadOnlyList<AppDefinition> Apps, IReadOnlyList<string> Errors) Build(AppsOptions options, IReadOnlyList<AppOptions> catalogue)
    {
        var errors = new List<string>();
        var apps = new List<AppDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < catalogue.Count; index++)
        {
            var entry = catalogue[index];
            var where = $"Apps:Catalogue:{index} ({(string.IsNullOrWhiteSpace(entry.Id) ? "no Id" : entry.Id)})";
            if (!AppId().IsMatch(entry.Id ?? ""))
            {
                errors.Add($"{where}: Id must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit.");
                continue;
            }

            if (!ids.Add(entry.Id!))
            {
                errors.Add($"{where}: Id '{entry.Id}' is used by another App of the catalogue.");
                continue;
            }

            var fields = new List<InputField>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var f = 0; f < entry.Fields.Count; f++)
            {
                var field = entry.Fields[f];
                var fieldWhere = $"{where}, field {f} ('{field.Name}')";
                if (!FieldName().IsMatch(field.Name ?? ""))
                {
                    errors.Add($"{fieldWhere}: Name must be letters, digits and '_', starting with a letter or '_'.");
                }
                else if (!names.Add(field.Name!))
                {
                    errors.Add($"{fieldWhere}: Name '{field.Name}' is used by another field of this App.");
                }
                else if (BuildField(options, field, fieldWhere, errors) is { } built)
                {
                    fields.Add(built);
                }
            }

            var app = new AppDefinition(entry.Id!, string.IsNullOrWhiteSpace(entry.Name) ? entry.Id! : entry.Name!, entry.Description,
                entry.AllowedCallers.ToHashSet(StringComparer.Ordinal), fields);
            if (fields.Count == entry.Fields.Count)
            {
                CheckValues(app, where, errors);
            }

            apps.Add(app);
        }

        return (apps, errors);
    }

    /// <summary>The example object of an App: each field's example, else its default.</summary>
    public static JsonObject Example(AppDefinition app)
    {
        var example = new JsonObject();
        foreach (var field in app.Fields)
        {
            if ((field.Example ?? field.Default) is { } value)
            {
                example[field.Name] = value.DeepClone();
            }
        }

        return example;
    }

    /// <summary>Runs the App's own rules over its example and each default, so the catalogue cannot contradict itself.</summary>
    private static void CheckValues(AppDefinition app, string where, List<string> errors)
    {
        var validator = new AppInputsValidator(app);
        var example = Example(app);
        foreach (var missing in app.Fields.Where(f => f.Required && !example.ContainsKey(f.Name)))
        {
            errors.Add($"{where}, field '{missing.Name}': a required field needs an Example.");
        }

        foreach (var failure in validator.Validate(new AppInputs(example)).Errors.Where(e => example.ContainsKey(e.PropertyName[7..])))
        {
            errors.Add($"{where}, field '{failure.PropertyName[7..]}': its Example (or Default) is rejected by its own rules: {failure.ErrorMessage}");
        }

        foreach (var field in app.Fields.Where(f => f.Default is not null && f.Example is not null))
        {
            var withDefault = example.DeepClone().AsObject();
            withDefault[field.Name] = field.Default!.DeepClone();
            foreach (var failure in validator.Validate(new AppInputs(withDefault)).Errors.Where(e => e.PropertyName == AppInputsValidator.Key(field.Name)))
            {
                errors.Add($"{where}, field '{field.Name}': its Default is rejected by its own rules: {failure.ErrorMessage}");
            }
        }
    }

    private static InputField? BuildField(AppsOptions options, AppFieldOptions field, string where, List<string> errors)
    {
        if (!Enum.TryParse<FieldType>(field.Type, ignoreCase: true, out var type) || int.TryParse(field.Type, out _))
        {
            errors.Add($"{where}: unknown Type '{field.Type}'; use text, integer, number, boolean, enum, seed or image.");
            return null;
        }

        var count = errors.Count;
        if (field.Required && field.Default is not null)
        {
            errors.Add($"{where}: a Required field cannot have a Default (the default is used only when the field is omitted).");
        }

        var built = new InputField
        {
            Name = field.Name,
            Type = type,
            Required = field.Required,
            Description = field.Description,
        };

        switch (type)
        {
            case FieldType.Text:
                var pattern = CompilePattern(field.Pattern, where, errors);
                built = built with { MinLength = field.MinLength ?? 0, MaxLength = field.MaxLength ?? options.MaxTextLength, Pattern = pattern, PatternText = pattern is null ? null : field.Pattern };
                if (built.MinLength < 0 || built.MaxLength < built.MinLength)
                {
                    errors.Add($"{where}: MinLength ({built.MinLength}) and MaxLength ({built.MaxLength}) must satisfy 0 <= MinLength <= MaxLength.");
                }

                break;
            case FieldType.Integer or FieldType.Number or FieldType.Seed:
                built = built with { Min = field.Min, Max = field.Max, Step = field.Step };
                if (type == FieldType.Seed)
                {
                    built = built with { Min = field.Min ?? 0, Max = field.Max ?? InputField.SeedMax };
                    if (built.Min < 0 || built.Max > InputField.SeedMax)
                    {
                        errors.Add($"{where}: a seed's Min and Max must lie within Kimara's range 0..{InputField.SeedMax}.");
                    }
                }

                if (built.Min > built.Max)
                {
                    errors.Add($"{where}: Min ({built.Min}) is greater than Max ({built.Max}).");
                }

                if (built.Step <= 0)
                {
                    errors.Add($"{where}: Step must be greater than 0.");
                }

                if (built.IsWhole && new[] { built.Min, built.Max, built.Step }.Any(v => v is { } d && d != decimal.Truncate(d)))
                {
                    errors.Add($"{where}: Min, Max and Step of an {field.Type} field must be whole numbers.");
                }

                break;
            case FieldType.Enum:
                built = built with { Values = field.Values };
                if (field.Values.Count == 0 || field.Values.Distinct(StringComparer.Ordinal).Count() != field.Values.Count)
                {
                    errors.Add($"{where}: an enum needs Values, each listed once.");
                }

                break;
            case FieldType.Image:
                var unknown = field.ContentTypes.Except(ImageInspector.Supported, StringComparer.Ordinal).ToList();
                if (unknown.Count > 0)
                {
                    errors.Add($"{where}: ContentTypes {string.Join(", ", unknown)} are not supported; use {string.Join(", ", ImageInspector.Supported)}.");
                }

                built = built with
                {
                    ContentTypes = field.ContentTypes.Count > 0 ? field.ContentTypes : ImageInspector.Supported,
                    MaxBytes = field.MaxBytes ?? DefaultImageMaxBytes,
                    MaxWidth = field.MaxWidth ?? DefaultImageMaxPixels,
                    MaxHeight = field.MaxHeight ?? DefaultImageMaxPixels,
                };
                if (built.MaxBytes <= 0 || built.MaxWidth <= 0 || built.MaxHeight <= 0)
                {
                    errors.Add($"{where}: MaxBytes, MaxWidth and MaxHeight must be greater than 0.");
                }

                if (field.Default is not null)
                {
                    errors.Add($"{where}: an image field cannot have a Default.");
                }

                break;
        }

        built = built with
        {
            Default = Parse(built, field.Default, "Default", where, errors),
            Example = Parse(built, field.Example, "Example", where, errors)
                ?? (type == FieldType.Image && built.ContentTypes.Contains(ImageInspector.Png) ? JsonValue.Create(ExamplePng) : null),
        };
        return errors.Count == count ? built : null;
    }

    /// <summary>Reads a configured value (configuration holds only strings) as the field's JSON type.</summary>
    private static JsonNode? Parse(InputField field, string? text, string what, string where, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        var value = FromText(field, text);
        if (value is null)
        {
            errors.Add($"{where}: {what} '{text}' is not a valid {AppInputsValidator.Describe(field.Type)} value.");
        }

        return value;
    }

    /// <summary>The JSON value a text (a form value, a configured default) stands for, or null when it is not one of the field's type.</summary>
    public static JsonNode? FromText(InputField field, string text)
    {
        switch (field.Type)
        {
            case FieldType.Integer or FieldType.Seed:
                return IntegerText().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                    ? JsonValue.Create(l) : null;
            case FieldType.Number:
                return NumberText().IsMatch(text) && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                    ? JsonNode.Parse(text) : null;
            case FieldType.Boolean:
                return text switch { "true" => JsonValue.Create(true), "false" => JsonValue.Create(false), _ => null };
            default:
                return JsonValue.Create(text);
        }
    }

    private static Regex? CompilePattern(string? pattern, string where, List<string> errors)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return null;
        }

        try
        {
            // The whole text must match; non-backtracking, so a caller's text can never make a configured pattern run away.
            return new Regex($"^(?:{pattern})\\z", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            errors.Add($"{where}: Pattern '{pattern}' is not a usable regular expression: {ex.Message}");
            return null;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex AppId();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex FieldName();

    [GeneratedRegex("^-?[0-9]{1,19}$")]
    private static partial Regex IntegerText();

    [GeneratedRegex(@"^-?[0-9]{1,28}(\.[0-9]{1,28})?([eE][+-]?[0-9]{1,3})?$")]
    private static partial Regex NumberText();
}
