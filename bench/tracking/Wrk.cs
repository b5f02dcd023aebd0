using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TrackingBench;

internal sealed record WrkResult(double RequestsPerSecond, long Requests, TimeSpan P50, TimeSpan P99);

/// <summary>Runs wrk (2 threads, 64 connections) against one loopback URL as the benchmark's caller and reads its summary.</summary>
internal static partial class Wrk
{
    // authenticated = false sends no credential, to time the pipeline up to the 401 (non-2xx expected).
    public static async Task<WrkResult> RunAsync(string url, TimeSpan duration, bool authenticated = true)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-t2", "-c64", $"-d{(int)duration.TotalSeconds}s", "--latency" })
        {
            start.ArgumentList.Add(arg);
        }

        if (authenticated)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"Authorization: Bearer {GatewayProcess.CallerKey}");
        }

        start.ArgumentList.Add(url);

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (authenticated && output.Contains("Non-2xx", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("wrk saw non-2xx answers:\n" + output);
        }

        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var requests = long.Parse(RequestCount().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(rps, requests, Latency(output, "50%"), Latency(output, "99%"));
    }

    private static TimeSpan Latency(string output, string percentile)
    {
        var match = Regex.Match(output, $@"^\s*{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline, TimeSpan.FromSeconds(1));
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => TimeSpan.FromMicroseconds(value),
            "ms" => TimeSpan.FromMilliseconds(value),
            _ => TimeSpan.FromSeconds(value),
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestCount();
}
