using System.Globalization;

namespace KimaraGateway.Hosting;

/// <summary>
/// <c>dotnet KimaraGateway.dll --healthcheck [/health/live|URL]</c>: asks the running gateway for its health and exits
/// 0 (2xx) or 1, for the container HEALTHCHECK. The aspnet runtime image has no curl or wget, and adding one to it is
/// more attack surface than a few lines here; the switch is handled before the host is built, so a probe starts no
/// server, reads no configuration and touches no dependency.
/// </summary>
public static class HealthProbe
{
    public const string Switch = "--healthcheck";

    public static void RunIfRequested(string[] args)
    {
        var at = Array.IndexOf(args, Switch);
        if (at < 0)
        {
            return;
        }

        var target = at + 1 < args.Length ? args[at + 1] : Health.LivePath;
        Environment.Exit(ProbeAsync(ResolveTarget(target, Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS"))).GetAwaiter().GetResult());
    }

    /// <summary>An absolute URL as given; a path goes to this container's own HTTP port (<c>ASPNETCORE_HTTP_PORTS</c>, else 8080).</summary>
    internal static Uri ResolveTarget(string target, string? httpPorts)
    {
        if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            return absolute;
        }

        var port = (httpPorts ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "8080";
        return new Uri($"http://127.0.0.1:{port}{(target.StartsWith('/') ? target : "/" + target)}");
    }

    internal static async Task<int> ProbeAsync(Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url);
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{url} answered {(int)response.StatusCode}"));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Out.WriteLineAsync($"{url} did not answer: {ex.GetType().Name}");
            return 1;
        }
    }
}
