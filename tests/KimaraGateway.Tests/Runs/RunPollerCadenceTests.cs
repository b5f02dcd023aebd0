using KimaraGateway.Tests.Infrastructure;
using KimaraGateway.Runs;
using KimaraGateway.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KimaraGateway.Tests.Runs;

/// <summary>The tracker's cadence: 2 s while a run is young, backing off toward 5 s for long runs.</summary>
public sealed class RunPollerCadenceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(0, 2.0)]
    [InlineData(30, 2.0)]
    [InlineData(40, 3.0)]
    [InlineData(50, 4.0)]
    [InlineData(60, 5.0)]
    [InlineData(3600, 5.0)]
    public void Cadence_Is_Two_Seconds_For_Young_Runs_And_Backs_Off_To_Five(int ageSeconds, double expectedSeconds)
    {
        var poller = NewPoller(new TrackingOptions());
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "text-to-image", CreatedAt = _time.GetUtcNow() };

        var cadence = poller.Cadence(run, _time.GetUtcNow().AddSeconds(ageSeconds));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), cadence);
    }

    [Fact]
    public void Cadence_Never_Leaves_The_Configured_Bounds()
    {
        var options = new TrackingOptions { PollInterval = TimeSpan.FromSeconds(3), MaxPollInterval = TimeSpan.FromSeconds(4), BackoffAfter = TimeSpan.Zero };
        var poller = NewPoller(options);
        var run = new RunRecord { Id = RunIds.New(), CallerId = "alice", AppId = "text-to-image", CreatedAt = _time.GetUtcNow() };

        var cadences = Enumerable.Range(0, 500).Select(s => poller.Cadence(run, _time.GetUtcNow().AddSeconds(s))).ToList();

        Assert.All(cadences, c => Assert.InRange(c, options.PollInterval, options.MaxPollInterval));
        Assert.Equal(cadences.Order(), cadences);
    }

    private RunPoller NewPoller(TrackingOptions options) =>
        new(new InMemoryRunStore(Options.Create(new RunStoreOptions()), _time),
            DetachedKimaraClient.Create(_time),
            new ImmediateCompletion(_time), _time, Options.Create(options), TestMetrics.Detached(), NullLogger<RunPoller>.Instance);
}
