using System.Globalization;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KimaraGateway.Tests.Outputs;

/// <summary>The signed link's expiry steps: one link per run and step, never shorter-lived than configured.</summary>
public sealed class OutputLinksTests
{
    private static readonly RunRecord Run = new() { Id = RunIds.New(), CallerId = "alice", AppId = "text-to-image" };

    [Fact]
    public void Reads_Within_A_Step_Get_The_Same_Link_And_The_Next_Step_A_Fresh_One()
    {
        // A one-hour lifetime: 60-second steps. Start 1 s into a step, so the next 58 s stay inside it.
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T12:00:01Z", CultureInfo.InvariantCulture));
        var links = Links(clock, TimeSpan.FromHours(1));

        var first = links.SignedUrl(Request().HttpContext, Run);
        clock.Advance(TimeSpan.FromSeconds(58));
        var second = links.SignedUrl(Request().HttpContext, Run);
        clock.Advance(TimeSpan.FromSeconds(2));
        var third = links.SignedUrl(Request().HttpContext, Run);

        Assert.Equal(first, second);
        Assert.NotEqual(first, third);
        Assert.Equal(ExpiresOf(first) + 60, ExpiresOf(third));
        Assert.Equal(LinkCheck.Valid, Check(links, third));
        Assert.Equal(LinkCheck.Valid, Check(links, first));
    }

    [Theory]
    [InlineData(3600, 60)]
    [InlineData(600, 10)]
    [InlineData(30, 1)]
    [InlineData(86_400, 60)]
    public void A_Link_Lives_At_Least_The_Lifetime_And_At_Most_One_Step_More(int lifetimeSeconds, int step)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T12:00:00.400Z", CultureInfo.InvariantCulture));
        var lifetime = TimeSpan.FromSeconds(lifetimeSeconds);
        var links = Links(clock, lifetime);
        for (var i = 0; i < 5; i++)
        {
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            var expires = ExpiresOf(links.SignedUrl(Request().HttpContext, Run));
            Assert.InRange(expires - now, lifetimeSeconds, lifetimeSeconds + step);
            Assert.Equal(0, expires % step);
            clock.Advance(TimeSpan.FromSeconds(step * 0.7));
        }
    }

    [Fact]
    public void The_Link_Follows_The_Request_Scheme_Host_And_Path_Base()
    {
        var links = Links(new FakeTimeProvider(), TimeSpan.FromHours(1));
        var request = Request();
        request.Scheme = "https";
        request.Host = new HostString("gateway.example.com");
        request.PathBase = "/kimara";

        var link = new Uri(links.SignedUrl(request.HttpContext, Run));

        Assert.Equal($"https://gateway.example.com/kimara/outputs/{Run.Id}", link.GetLeftPart(UriPartial.Path));
    }

    private static OutputLinks Links(TimeProvider clock, TimeSpan lifetime) =>
        new(clock, Options.Create(new OutputsOptions { Links = { SigningKey = "output-links-test-key-0123456789abcdef", Lifetime = lifetime } }), NullLogger<OutputLinks>.Instance);

    private static HttpRequest Request()
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1", 8080);
        return context.Request;
    }

    private static long ExpiresOf(string link) =>
        long.Parse(QueryHelpers.ParseQuery(new Uri(link).Query)["expires"]!, CultureInfo.InvariantCulture);

    private static LinkCheck Check(OutputLinks links, string link)
    {
        var query = QueryHelpers.ParseQuery(new Uri(link).Query);
        return links.Check(Run.Id, long.Parse(query["expires"]!, CultureInfo.InvariantCulture), query["sig"]);
    }
}
