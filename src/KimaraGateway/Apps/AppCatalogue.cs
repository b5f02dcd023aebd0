using System.Security.Claims;
using System.Text.Json.Nodes;
using KimaraGateway.Callers;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace KimaraGateway.Apps;

/// <summary>One App with what is derived from it once per catalogue load: its validator, schema and example.</summary>
public sealed record CatalogueEntry(AppDefinition App, AppInputsValidator Validator, JsonObject Schema, JsonObject Example);

/// <summary>Limits on reading a submission, derived from the catalogue.</summary>
/// <param name="MaxBodyBytes">Largest request body.</param>
/// <param name="MaxFileBytes">Largest file part kept in memory: the largest image field's limit.</param>
/// <param name="MaxJsonDepth">Deepest JSON nesting.</param>
/// <param name="MaxParts">Most parts of a multipart body.</param>
public sealed record SubmissionLimits(long MaxBodyBytes, long MaxFileBytes, int MaxJsonDepth, int MaxParts);

/// <summary>A consistent catalogue: every App, and the limits that follow from them.</summary>
public sealed record CatalogueSnapshot(IReadOnlyDictionary<string, CatalogueEntry> Apps, IReadOnlyList<string> Order, SubmissionLimits Limits)
{
    /// <summary>Room for the largest image as base64 (4/3 of its bytes) plus the rest of the body.</summary>
    private const long BodyHeadroom = 256 * 1024;

    public static (CatalogueSnapshot? Snapshot, IReadOnlyList<string> Errors) Build(AppsOptions options)
    {
        var (apps, errors) = AppCatalogueBuilder.Build(options, options.Catalogue);
        var all = new List<string>(errors);
        if (options.MaxJsonDepth is < 2 or > 256)
        {
            all.Add("Apps:MaxJsonDepth must be between 2 and 256.");
        }

        if (options.MaxMultipartParts < 1)
        {
            all.Add("Apps:MaxMultipartParts must be at least 1.");
        }

        if (options.MaxRequestBodyBytes is <= 0)
        {
            all.Add("Apps:MaxRequestBodyBytes must be greater than 0 (or unset for room for the largest image field).");
        }

        if (all.Count > 0)
        {
            return (null, all);
        }

        var maxFile = apps.SelectMany(a => a.Fields).Where(f => f.Type == FieldType.Image).Select(f => f.MaxBytes).DefaultIfEmpty(0).Max();
        var maxBody = options.MaxRequestBodyBytes ?? Math.Max(1024 * 1024, (maxFile + 2) / 3 * 4 + BodyHeadroom);
        var entries = apps.ToDictionary(a => a.Id, a =>
        {
            var example = AppCatalogueBuilder.Example(a);
            return new CatalogueEntry(a, new AppInputsValidator(a), AppSchema.For(a, example), example);
        }, StringComparer.Ordinal);
        return (new CatalogueSnapshot(entries, [.. apps.Select(a => a.Id)], new SubmissionLimits(maxBody, maxFile, options.MaxJsonDepth, options.MaxMultipartParts)), []);
    }
}

/// <summary>Fails startup with every inconsistency of the catalogue, each naming its App and field.</summary>
internal sealed class AppsOptionsValidator : IValidateOptions<AppsOptions>
{
    public ValidateOptionsResult Validate(string? name, AppsOptions options)
    {
        try
        {
            var (_, errors) = CatalogueSnapshot.Build(AppCatalogue.WithFile(options));
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
        catch (Exception ex) when (AppCatalogue.IsUnreadable(ex))
        {
            return ValidateOptionsResult.Fail($"Apps:File '{options.File}' could not be read: {ex.Message}");
        }
    }
}

/// <summary>
/// The App catalogue in force. Reloads when configuration (or the file <c>Apps:File</c> names) changes; a reload with
/// errors is logged and the last good catalogue stays.
/// </summary>
public sealed partial class AppCatalogue : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly ILogger<AppCatalogue> _logger;
    private readonly IDisposable _subscription;
    private readonly PhysicalFileProvider? _files;
    private volatile CatalogueSnapshot _current;

    public AppCatalogue(IOptions<AppsOptions> options, IConfiguration configuration, ILogger<AppCatalogue> logger)
    {
        _configuration = configuration;
        _logger = logger;
        var (snapshot, errors) = CatalogueSnapshot.Build(WithFile(options.Value));
        _current = snapshot ?? throw new OptionsValidationException(AppsOptions.SectionName, typeof(AppsOptions), errors);
        LogLoaded(logger, _current.Apps.Count, _current.Order, _current.Limits.MaxBodyBytes);
        if (!string.IsNullOrWhiteSpace(options.Value.File))
        {
            var path = Path.GetFullPath(options.Value.File);
            // Polled (every 4 s) rather than inotify: it also sees mounted files replaced by a symlink swap (Kubernetes
            // ConfigMaps), and does not depend on the host's inotify instance limit.
            _files = new PhysicalFileProvider(Path.GetDirectoryName(path)!) { UsePollingFileWatcher = true, UseActivePolling = true };
            var name = Path.GetFileName(path);
            _subscription = ChangeToken.OnChange(() => new CompositeChangeToken([configuration.GetReloadToken(), _files.Watch(name)]), Reload);
        }
        else
        {
            _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
        }
    }

    public CatalogueSnapshot Current => _current;

    /// <summary>Why the latest change of the catalogue was refused; empty when it was applied (or none came).</summary>
    public IReadOnlyList<string> RejectedChange { get; private set; } = [];

    /// <summary>The App if it exists and this caller may run it; otherwise null, so a forbidden App looks exactly like a missing one.</summary>
    public CatalogueEntry? Find(string appId, ClaimsPrincipal user) =>
        _current.Apps.TryGetValue(appId, out var entry) && MayRun(user, entry.App) ? entry : null;

    /// <summary>The Apps this caller may run, in catalogue order.</summary>
    public IEnumerable<CatalogueEntry> Visible(ClaimsPrincipal user)
    {
        var snapshot = _current;
        return snapshot.Order.Select(id => snapshot.Apps[id]).Where(e => MayRun(user, e.App));
    }

    /// <summary>The catalogue's own allow-list, and the caller's <c>kgw:app</c> claims when its credential lists Apps.</summary>
    public static bool MayRun(ClaimsPrincipal user, AppDefinition app)
    {
        var caller = user.FindFirstValue(CallerClaims.CallerId);
        if (app.AllowedCallers.Count > 0 && (caller is null || !app.AllowedCallers.Contains(caller)))
        {
            return false;
        }

        var listed = user.FindAll(CallerClaims.App).Select(c => c.Value).ToList();
        return listed.Count == 0 || listed.Contains(app.Id, StringComparer.Ordinal);
    }

    /// <summary>The options with the catalogue read from <c>Apps:File</c> when it names one (it replaces the inline catalogue).</summary>
    internal static AppsOptions WithFile(AppsOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.File))
        {
            return options;
        }

        var file = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(options.File), optional: false, reloadOnChange: false).Build();
        var fromFile = new AppsOptions();
        file.GetSection(AppsOptions.SectionName).Bind(fromFile);
        return new AppsOptions
        {
            File = options.File,
            MaxRequestBodyBytes = options.MaxRequestBodyBytes,
            MaxJsonDepth = options.MaxJsonDepth,
            MaxTextLength = options.MaxTextLength,
            MaxMultipartParts = options.MaxMultipartParts,
            Catalogue = fromFile.Catalogue,
        };
    }

    internal static bool IsUnreadable(Exception ex) => ex is IOException or InvalidDataException or FormatException or InvalidOperationException;

    public void Dispose()
    {
        _subscription.Dispose();
        _files?.Dispose();
    }

    private void Reload()
    {
        try
        {
            var options = new AppsOptions();
            _configuration.GetSection(AppsOptions.SectionName).Bind(options);
            var (snapshot, errors) = CatalogueSnapshot.Build(WithFile(options));
            if (snapshot is null)
            {
                RejectedChange = errors;
                LogReloadRejected(_logger, string.Join(" | ", errors));
                return;
            }

            _current = snapshot;
            RejectedChange = [];
            LogReloaded(_logger, snapshot.Apps.Count);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            RejectedChange = [ex.Message];
            LogReloadRejected(_logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "App catalogue: {Count} Apps ({AppIds}); request bodies up to {MaxBodyBytes} bytes")]
    private static partial void LogLoaded(ILogger logger, int count, IEnumerable<string> appIds, long maxBodyBytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "App catalogue reloaded: {Count} Apps")]
    private static partial void LogReloaded(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "App catalogue change rejected, the previous catalogue stays in force: {Errors}")]
    private static partial void LogReloadRejected(ILogger logger, string errors);
}
