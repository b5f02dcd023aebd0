using System.Text.RegularExpressions;
using KimaraGateway.Upstream;
using Microsoft.Extensions.Options;
using Serilog.Core;
using Serilog.Events;

namespace KimaraGateway.Hosting;

/// <summary>
/// The last line of defence for secrets in logs: masks the Kimara key and anything shaped like a credential
/// (<c>Bearer …</c>, <c>X-Api-Key: …</c>, <c>sig=…</c>) in every string property before a sink sees it.
/// </summary>
internal sealed partial class SecretRedactionEnricher(IOptions<KimaraOptions> kimara, KimaraEndpoint endpoint) : ILogEventEnricher
{
    private const string Mask = "[redacted]";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        foreach (var (name, value) in logEvent.Properties.ToArray())
        {
            if (value is ScalarValue { Value: string text } && Redact(text) is { } redacted)
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(redacted)));
            }
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

    [GeneratedRegex(@"(?<name>(?:Bearer\s+|X-Api-Key[:=]\s*|[?&]sig=))[^\s&""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialPattern();
}
