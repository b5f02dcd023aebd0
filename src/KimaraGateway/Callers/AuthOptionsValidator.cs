using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>Checks the <c>Auth</c> section at startup; every message names the key to fix.</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (string.IsNullOrWhiteSpace(key.CallerId))
            {
                errors.Add($"Auth:ApiKeys:{i}:CallerId is required for every key.");
            }

            if (!ApiKeyAuthenticationHandler.TryParseHash(key.KeyHash, out _))
            {
                errors.Add($"Auth:ApiKeys:{i}:KeyHash must be the 64-character hex SHA-256 of the key (see README, 'Minting an API key').");
            }

            ValidateLimits(key.Limits, $"Auth:ApiKeys:{i}:Limits", errors);
        }

        if (options.ApiKeys.Select(k => k.KeyHash.ToUpperInvariant()).Distinct().Count() != options.ApiKeys.Count)
        {
            errors.Add("Auth:ApiKeys has the same KeyHash twice.");
        }

        ValidateLimits(options.Limits, "Auth:Limits", errors);
        ValidateJwt(options.Jwt, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateJwt(JwtOptions jwt, List<string> errors)
    {
        if (!jwt.Enabled)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(jwt.Audience))
        {
            errors.Add("Auth:Jwt:Audience is required when Auth:Jwt is configured.");
        }

        if (string.IsNullOrWhiteSpace(jwt.CallerIdClaim))
        {
            errors.Add("Auth:Jwt:CallerIdClaim must name a claim (default sub).");
        }

        if (jwt.ClockSkew < TimeSpan.Zero || jwt.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add("Auth:Jwt:ClockSkew must be between 00:00:00 and 00:05:00.");
        }

        var provider = !string.IsNullOrWhiteSpace(jwt.Authority) || !string.IsNullOrWhiteSpace(jwt.MetadataAddress);
        if (provider && !string.IsNullOrWhiteSpace(jwt.SigningKey))
        {
            errors.Add("Auth:Jwt: set either Authority/MetadataAddress (an identity provider) or SigningKey, not both.");
        }

        foreach (var (key, value) in new[] { ("Authority", jwt.Authority), ("MetadataAddress", jwt.MetadataAddress) })
        {
            if (!string.IsNullOrWhiteSpace(value) && !Uri.TryCreate(value, UriKind.Absolute, out _))
            {
                errors.Add($"Auth:Jwt:{key} must be an absolute URL.");
            }
        }

        if (!string.IsNullOrWhiteSpace(jwt.SigningKey))
        {
            ValidateSigningKey(jwt.SigningKey, errors);
        }
    }

    private static void ValidateSigningKey(string signingKey, List<string> errors)
    {
        if (!signingKey.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            if (Encoding.UTF8.GetByteCount(signingKey) < 32)
            {
                errors.Add("Auth:Jwt:SigningKey as an HMAC secret must be at least 32 bytes.");
            }

            return;
        }

        try
        {
            _ = CallerAuthentication.SigningKeyOf(signingKey);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            errors.Add("Auth:Jwt:SigningKey is not a PEM RSA or EC public key.");
        }
    }

    private static void ValidateLimits(CallerLimitOptions limits, string section, List<string> errors)
    {
        foreach (var (key, value) in new[]
        {
            ("SubmissionsPerMinute", limits.SubmissionsPerMinute), ("ReadsPerSecond", limits.ReadsPerSecond),
            ("ConcurrentRuns", limits.ConcurrentRuns), ("RunsPerDay", limits.RunsPerDay),
        })
        {
            if (value < 0)
            {
                errors.Add($"{section}:{key} must be 0 (no limit) or more.");
            }
        }

        foreach (var (app, value) in limits.RunsPerDayPerApp)
        {
            if (value < 0)
            {
                errors.Add($"{section}:RunsPerDayPerApp:{app} must be 0 (no limit) or more.");
            }
        }
    }
}
