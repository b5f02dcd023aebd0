namespace KimaraGateway.Upstream;

/// <summary>
/// Where upstream calls go and with which key, resolved once the host has started: either the configured
/// Kimara or, in Development without one, the in-process simulator whose port is known only after it listens.
/// </summary>
public sealed class KimaraEndpoint
{
    private readonly TaskCompletionSource<(Uri BaseUrl, string ApiKey)> _resolved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsResolved => _resolved.Task.IsCompletedSuccessfully;

    public Uri BaseUrl => Current.BaseUrl;

    internal string ApiKey => Current.ApiKey;

    private (Uri BaseUrl, string ApiKey) Current => _resolved.Task.IsCompletedSuccessfully
        ? _resolved.Task.Result
        : throw new InvalidOperationException("The Kimara endpoint is not resolved yet; the host has not started.");

    public void Resolve(Uri baseUrl, string apiKey) => _resolved.TrySetResult((baseUrl, apiKey));
}
