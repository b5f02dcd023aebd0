using System.ComponentModel.DataAnnotations;

namespace KimaraGateway.Runs;

/// <summary>The <c>Tracking</c> configuration section: how the gateway polls Kimara.</summary>
public sealed class TrackingOptions
{
    public const string SectionName = "Tracking";

    /// <summary>
    /// Whether this replica runs the tracker. Replicas with it off only serve reads and events (from what the others
    /// write); at least one replica of a deployment must keep it on.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Poll cadence while a run is young.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Cadence the tracker backs off to for long runs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Age of a run after which polling slows from <see cref="PollInterval"/> toward <see cref="MaxPollInterval"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BackoffAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upstream status polls per second for the whole deployment (all replicas); 0 = unlimited.</summary>
    [Range(0, 10_000)]
    public int PollBudgetPerSecond { get; set; } = 20;

    /// <summary>How long a replica holds a claimed run; another replica takes over after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an idle tracker looks for due runs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan Tick { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Runs polled at once by one replica.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 32;

    /// <summary>A read refreshes a run itself (single flight) when the tracker has not heard of it for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A submission still without Kimara's answer after this long is surfaced as failed with an unknown outcome.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SubmitTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How long a replica may serve a run record from memory. Every published change evicts it at once on every replica;
    /// the lifetime only bounds staleness if a change message is lost (Redis reconnect). 0 turns the cache off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ReadCacheLifetime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest silence on an event stream before a heartbeat comment; at most 15 s, under common proxy idle timeouts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:15")]
    public TimeSpan EventHeartbeat { get; set; } = TimeSpan.FromSeconds(15);
}
