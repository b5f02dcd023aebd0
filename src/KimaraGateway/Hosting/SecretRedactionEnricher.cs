using System.Text.RegularExpressions;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Options;
using Serilog.Core;
using Serilog.Events;

namespace KimaraGateway.Hosting;

/// <summary>
/// The last line of defence for secrets in logs: masks the Kimara key and anything shaped like a credential
/// (<c>Bearer …</c>, <c>X-Api-Key: …</c>, <c>sig=…</c>, <c>password=…</c>) in every string property, also inside
/// destructured objects and collections, before a sink sees it. Message templates and exception objects are not
/// rewritten: templates are constants, and code must not put a secret into an exception message.
/// </summary>
internal sealed partial class SecretRedactionEnricher(IOptions<KimaraOptions> kimara, KimaraEndpoint endpoint) : ILogEventEnricher
{
    private const string Mask = "[redacted]";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        foreach (var (name, value) in logEvent.Properties.ToArray())
        {
            if (Redact(value) is { } redacted)
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, redacted));
            }
        }
    }

    /// <summary>The value with secrets masked, or null when it held none; destructured objects and collections are searched too.</summary>
    private LogEventPropertyValue? Redact(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: string text }:
                return Redact(text) is { } redacted ? new ScalarValue(redacted) : null;
            case StructureValue structure:
                var properties = structure.Properties.Select(p => (p, redacted: Redact(p.Value))).ToArray();
                return properties.Any(p => p.redacted is not null)
                    ? new StructureValue(properties.Select(p => p.redacted is null ? p.p : new LogEventProperty(p.p.Name, p.redacted)), structure.TypeTag)
                    : null;
            case SequenceValue sequence:
                var elements = sequence.Elements.Select(e => (e, redacted: Redact(e))).ToArray();
                return elements.Any(e => e.redacted is not null) ? new SequenceValue(elements.Select(e => e.redacted ?? e.e)) : null;
            case DictionaryValue dictionary:
                var entries = dictionary.Elements.Select(e => (e.Key, e.Value, redacted: Redact(e.Value))).ToArray();
                return entries.Any(e => e.redacted is not null)
                    ? new DictionaryValue(entries.Select(e => new KeyValuePair<ScalarValue, LogEventPropertyValue>(e.Key, e.redacted ?? e.Value)))
                    : null;
            default:
                return null;
        }
    }

    private string? Redact(string text)
    {
        var result = text;
        foreach (var secret in Secrets())
        {
            result = result.Replace(secret, Mask, StringComparison.Ordinal);
        }

        result = CredentialPattern().Replace(result, m => m.Groups["name"].Value + Mask);
        return ReferenceEquals(result, text) || result == text ? null : result;
    }

    private IEnumerable<string> Secrets()
    {
        if (!string.IsNullOrEmpty(kimara.Value.ApiKey))
        {
            yield return kimara.Value.ApiKey;
        }

        if (endpoint.IsResolved && !string.IsNullOrEmpty(endpoint.ApiKey))
        {
            yield return endpoint.ApiKey;
        }
    }

    // Bearer tokens (gateway keys, JWTs, the Kimara key), API-key headers, signed-link signatures and passwords in
    // connection strings (ConnectionStrings:Redis may carry one).
    [GeneratedRegex(@"(?<name>(?:Bearer\s+|X-Api-Key[:=]\s*|[?&]sig=|password=))[^\s&,;""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialPattern();
}
