using System.Globalization;
using System.Text.Json.Nodes;
using FluentValidation;

namespace KimaraGateway.Apps;

/// <summary>
/// The input rules of one App, built once from its catalogue entry: every field's type (checked strictly, without
/// coercion) and bounds, required fields, and no fields the App does not declare. Errors are keyed <c>inputs.{field}</c>.
/// </summary>
public sealed class AppInputsValidator : AbstractValidator<AppInputs>
{
    public AppInputsValidator(AppDefinition app)
    {
        RuleFor(i => i).Custom((inputs, context) =>
        {
            foreach (var name in inputs.Names.Where(n => app.Field(n) is null).Distinct(StringComparer.Ordinal))
            {
                context.AddFailure(Key(name), $"'{name}' is not an input of {app.Id}; its inputs are {string.Join(", ", app.Fields.Select(f => f.Name))}.");
            }
        });

        foreach (var field in app.Fields)
        {
            AddRules(field);
        }
    }

    public static string Key(string field) => "inputs." + field;

    private void AddRules(InputField field)
    {
        var name = field.Name;
        var key = Key(name);
        if (field.Required)
        {
            RuleFor(i => i.Has(name)).Equal(true).OverridePropertyName(key).WithMessage($"{key} is required.");
        }

        if (field.Type == FieldType.Image)
        {
            RuleFor(i => i.Image(field).Error).Null().When(i => i.Has(name)).OverridePropertyName(key)
                .WithMessage((_, error) => $"{key} {error}.");
            return;
        }

        RuleFor(i => i.Files.ContainsKey(name)).Equal(false).OverridePropertyName(key)
            .WithMessage($"{key} is a {Describe(field.Type)} field; send it as a form value, not a file.");

        var present = (AppInputs i) => i.Values.ContainsKey(name);
        switch (field.Type)
        {
            case FieldType.Text:
                RuleFor(i => i.Values[name]).Must(n => JsonKinds.IsString(n, out _)).When(present).OverridePropertyName(key)
                    .WithMessage((_, n) => $"{key} must be a string; got {JsonKinds.Describe(n)}.");
                RuleFor(i => Text(i.Values[name])).Length(field.MinLength, field.MaxLength).When(i => IsString(i, name)).OverridePropertyName(key)
                    .WithMessage((_, s) => $"{key} must be {field.MinLength} to {field.MaxLength} characters long; got {s!.Length}.");
                if (field.Pattern is { } pattern)
                {
                    RuleFor(i => Text(i.Values[name])).Must(s => pattern.IsMatch(s!)).When(i => IsString(i, name)).OverridePropertyName(key)
                        .WithMessage($"{key} must match the pattern {field.PatternText}.");
                }

                break;
            case FieldType.Enum:
                RuleFor(i => i.Values[name]).Must(n => JsonKinds.IsString(n, out var s) && field.Values.Contains(s)).When(present).OverridePropertyName(key)
                    .WithMessage((_, n) => $"{key} must be one of {string.Join(", ", field.Values.Select(v => $"\"{v}\""))}; got {JsonKinds.Describe(n)}.");
                break;
            case FieldType.Boolean:
                RuleFor(i => i.Values[name]).Must(n => JsonKinds.IsBoolean(n, out _)).When(present).OverridePropertyName(key)
                    .WithMessage((_, n) => $"{key} must be true or false; got {JsonKinds.Describe(n)}.");
                break;
            case FieldType.Integer or FieldType.Seed or FieldType.Number:
                AddNumberRules(field, key, present);
                break;
            default:
                throw new InvalidOperationException($"No rules for field type {field.Type}.");
        }
    }

    private void AddNumberRules(InputField field, string key, Func<AppInputs, bool> present)
    {
        var name = field.Name;
        var whole = field.IsWhole;
        var kind = whole ? "an integer" : "a number";
        RuleFor(i => i.Values[name]).Must(n => Number(n, whole) is not null).When(present).OverridePropertyName(key)
            .WithMessage((_, n) => $"{key} must be {kind}{Range(field)}; got {JsonKinds.Describe(n)}.");
        var typed = (AppInputs i) => present(i) && Number(i.Values[name], whole) is not null;
        if (field.Min is { } min)
        {
            RuleFor(i => Number(i.Values[name], whole)).GreaterThanOrEqualTo(min).When(typed).OverridePropertyName(key)
                .WithMessage((_, v) => $"{key} must be at least {Format(min)}; got {Format(v!.Value)}.");
        }

        if (field.Max is { } max)
        {
            RuleFor(i => Number(i.Values[name], whole)).LessThanOrEqualTo(max).When(typed).OverridePropertyName(key)
                .WithMessage((_, v) => $"{key} must be at most {Format(max)}; got {Format(v!.Value)}.");
        }

        if (field.Step is { } step)
        {
            RuleFor(i => Number(i.Values[name], whole)).Must(v => v!.Value % step == 0).When(typed).OverridePropertyName(key)
                .WithMessage((_, v) => $"{key} must be a multiple of {Format(step)}; got {Format(v!.Value)}.");
        }
    }

    private static bool IsString(AppInputs inputs, string name) => JsonKinds.IsString(inputs.Values[name], out _);

    private static string? Text(JsonNode? node) => JsonKinds.IsString(node, out var text) ? text : null;

    private static decimal? Number(JsonNode? node, bool whole) =>
        whole ? (JsonKinds.IsInteger(node, out var l) ? l : null) : (JsonKinds.IsNumber(node, out var d) ? d : null);

    private static string Range(InputField field) => (field.Min, field.Max) switch
    {
        ({ } min, { } max) => $" between {Format(min)} and {Format(max)}",
        ({ } min, null) => $" of at least {Format(min)}",
        (null, { } max) => $" of at most {Format(max)}",
        _ => "",
    };

    internal static string Format(decimal value) => value.ToString("0.############################", CultureInfo.InvariantCulture);

    internal static string Describe(FieldType type) => type.ToString().ToLowerInvariant();
}
