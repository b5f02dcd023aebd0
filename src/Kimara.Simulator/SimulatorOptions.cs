namespace Kimara.Simulator;

/// <summary>
/// Behaviour of the simulator, bound from the configuration section <c>Simulator</c>.
/// The instance registered in the app is live: changes made through <see cref="SimulatorServer.Options"/>
/// or the control endpoints apply to the next request.
/// </summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>The one Bearer key the simulator accepts.</summary>
    public string ApiKey { get; set; } = "sim-dev-key";

    /// <summary>Seconds a run stays <c>queued</c>.</summary>
    public double QueuedSeconds { get; set; } = 1;

    /// <summary>Seconds a run stays <c>running</c> after it left the queue.</summary>
    public double RunningSeconds { get; set; } = 3;

    /// <summary>Lifetime of an <c>output_url</c>, counted from the first poll that saw the run completed.</summary>
    public double OutputUrlLifetimeSeconds { get; set; } = 60;

    /// <summary>Polling one run again sooner than this answers 429.</summary>
    public double MinPollIntervalSeconds { get; set; } = 1;

    /// <summary>0 gives a small, compressed PNG sized by the App; otherwise the PNG is about this many bytes (stored deflate, streamed).</summary>
    public int OutputBytes { get; set; }

    /// <summary>Base of <c>output_url</c>; when unset the request's scheme and host are used.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Fault injection; replaced as a whole by <c>PUT /_sim/faults</c>.</summary>
    public FaultOptions Faults { get; set; } = new();
}

/// <summary>Faults injected into matching requests (snake_case JSON on <c>/_sim/faults</c>).</summary>
public sealed class FaultOptions
{
    /// <summary>Fraction of matching requests answered with <see cref="ErrorStatus"/>.</summary>
    public double ErrorRate { get; set; }

    /// <summary>Status used by <see cref="ErrorRate"/> (500, 502 or 503 in practice).</summary>
    public int ErrorStatus { get; set; } = 503;

    /// <summary>Wall-clock delay added before answering a matching request.</summary>
    public int LatencyMs { get; set; }

    /// <summary>Fraction of matching requests that never answer, until the client gives up or the app stops.</summary>
    public double HangRate { get; set; }

    /// <summary>Fraction of matching requests whose connection is aborted.</summary>
    public double ResetRate { get; set; }

    /// <summary>Fraction of matching requests answered 200 with a broken JSON body.</summary>
    public double MalformedRate { get; set; }

    /// <summary>Every matching request is answered 429 with <c>Retry-After</c>.</summary>
    public bool Storm429 { get; set; }

    /// <summary>The <c>Retry-After</c> of <see cref="Storm429"/>.</summary>
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>Routes the faults apply to: <c>all</c>, <c>post</c>, <c>get</c> or <c>output</c>.</summary>
    public string Target { get; set; } = "all";

    /// <summary>CDN route: send about half the body, then abort the connection.</summary>
    public bool ResetOutputMidway { get; set; }

    /// <summary>CDN route: wall-clock delay between 16 KB chunks.</summary>
    public int OutputDripDelayMs { get; set; }

    /// <summary>CDN route: Content-Type to send instead of <c>image/png</c>.</summary>
    public string? OutputContentType { get; set; }

    /// <summary>CDN route: answer 302 to this absolute URL.</summary>
    public string? OutputRedirectTo { get; set; }
}
