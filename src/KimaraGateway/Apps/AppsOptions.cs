namespace KimaraGateway.Apps;

/// <summary>
/// The <c>Apps</c> configuration section: the App catalogue and the limits on submissions. Values are strings in
/// configuration; each field's <c>Default</c> and <c>Example</c> are read as its <c>Type</c> says.
/// </summary>
public sealed class AppsOptions
{
    public const string SectionName = "Apps";

    /// <summary>A JSON file holding an <c>Apps</c> section, watched and reloaded on change (a bad edit keeps the last good catalogue).</summary>
    public string? File { get; set; }

    /// <summary>Largest accepted request body; unset = room for the largest image field as a base64 data: URI.</summary>
    public long? MaxRequestBodyBytes { get; set; }

    /// <summary>Deepest JSON nesting accepted in a submission.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>Longest text value when a text field sets no <c>MaxLength</c> of its own.</summary>
    public int MaxTextLength { get; set; } = 10_000;

    /// <summary>Most parts accepted in one multipart/form-data submission.</summary>
    public int MaxMultipartParts { get; set; } = 32;

    public List<AppOptions> Catalogue { get; set; } = [];
}

/// <summary>One App callers may run through the gateway.</summary>
public sealed class AppOptions
{
    /// <summary>The Kimara App id, sent upstream as <c>app_id</c>.</summary>
    public string Id { get; set; } = "";

    public string? Name { get; set; }

    public string? Description { get; set; }

    /// <summary>Caller ids allowed to run it; empty = every caller.</summary>
    public List<string> AllowedCallers { get; set; } = [];

    public List<AppFieldOptions> Fields { get; set; } = [];
}

/// <summary>One input field of an App.</summary>
public sealed class AppFieldOptions
{
    public string Name { get; set; } = "";

    /// <summary><c>text</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>enum</c>, <c>seed</c> or <c>image</c>.</summary>
    public string Type { get; set; } = "";

    public bool Required { get; set; }

    /// <summary>Sent upstream when the caller omits the field (a seed without one is random).</summary>
    public string? Default { get; set; }

    public string? Description { get; set; }

    /// <summary>A valid value shown in the schema and Swagger (images get a 1×1 PNG when unset).</summary>
    public string? Example { get; set; }

    public int? MinLength { get; set; }

    public int? MaxLength { get; set; }

    /// <summary>A regular expression the whole text must match.</summary>
    public string? Pattern { get; set; }

    public decimal? Min { get; set; }

    public decimal? Max { get; set; }

    /// <summary>Values must be a multiple of it (JSON Schema <c>multipleOf</c>).</summary>
    public decimal? Step { get; set; }

    /// <summary>The allowed values of an enum field.</summary>
    public List<string> Values { get; set; } = [];

    /// <summary>Allowed image types (<c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c>); empty = all three.</summary>
    public List<string> ContentTypes { get; set; } = [];

    public long? MaxBytes { get; set; }

    public int? MaxWidth { get; set; }

    public int? MaxHeight { get; set; }
}
