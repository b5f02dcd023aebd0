using Microsoft.Extensions.Options;

namespace KimaraGateway.Callers;

/// <summary>Says in the startup log which caller schemes are on, since with neither configured every call is refused.</summary>
internal sealed partial class AuthAnnouncement(IOptions<AuthOptions> options, ILogger<AuthAnnouncement> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value;
        var keys = auth.ApiKeys.Count(k => !k.Revoked);
        if (keys == 0 && !auth.Jwt.Enabled)
        {
            LogNoScheme(logger);
        }
        else
        {
            var jwt = !auth.Jwt.Enabled ? "off" : string.IsNullOrWhiteSpace(auth.Jwt.SigningKey) ? "identity provider" : "signing key";
            LogSchemes(logger, keys, jwt);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Neither Auth:ApiKeys nor Auth:Jwt is configured: every caller is refused (mint a key with --mint-api-key)")]
    private static partial void LogNoScheme(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Callers: {ApiKeys} active API keys, JWT {Jwt}")]
    private static partial void LogSchemes(ILogger logger, int apiKeys, string jwt);
}
