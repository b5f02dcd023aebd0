using System.Globalization;
using System.Net;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Runs;

/// <summary><c>GET /runs/{id}</c> is served from the store: conditional requests, poll hints, no upstream call.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RunReadTests(GatewayFixture fixture)
{
    [Theory]
    [InlineData("{0}")]
    [InlineData("W/{0}")]
    [InlineData("\"something-else\", {0}")]
    [InlineData("W/\"x\",W/{0}")]
    [InlineData("*")]
    public async Task Get_Run_Answers_304_When_If_None_Match_Lists_The_Current_ETag(string header)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        await client.WaitForTerminalAsync(id);
        using var first = await client.GetAsync($"/runs/{id}");
        var etag = first.Headers.ETag!.ToString();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", string.Format(CultureInfo.InvariantCulture, header, etag));
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag!.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("\"something-else\"")]
    [InlineData("not even an etag")]
    public async Task Get_Run_Answers_200_When_If_None_Match_Does_Not_List_The_Current_ETag(string header)
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", header);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_Active_Run_Carries_A_Hint_Of_The_Next_Useful_Poll_And_A_Finished_One_Does_Not()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var active = await client.GetAsync($"/runs/{id}");
        await client.WaitForTerminalAsync(id);
        using var done = await client.GetAsync($"/runs/{id}");

        Assert.True(active.Headers.CacheControl!.Private);
        Assert.InRange(active.Headers.CacheControl.MaxAge!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.InRange(active.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.True(done.Headers.CacheControl!.NoCache);
        Assert.Null(done.Headers.RetryAfter);
    }

    [Fact]
    public async Task Reading_A_Run_Many_Times_Never_Calls_Kimara()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await client.SubmitTextToImageAsync())["id"]!.GetValue<string>();
        await client.WaitForTerminalAsync(id);
        var before = await fixture.Upstream.RouteCountAsync("GET /runs/{id}");

        for (var i = 0; i < 50; i++)
        {
            using var response = await client.GetAsync($"/runs/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(before, await fixture.Upstream.RouteCountAsync("GET /runs/{id}"));
    }

    [Fact]
    public async Task Another_Callers_Run_Is_A_404_Exactly_Like_A_Missing_One()
    {
        using var alice = fixture.Gateway.CreateCallerClient();
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        using var foreign = await bob.GetAsync($"/runs/{id}");
        using var missing = await bob.GetAsync($"/runs/{KimaraGateway.Runs.RunIds.New()}");

        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Null(foreign.Headers.ETag);
        Assert.Equal(StripTrace(await missing.Content.ReadAsStringAsync()), StripTrace(await foreign.Content.ReadAsStringAsync()));
    }

    private static string StripTrace(string problem) => System.Text.RegularExpressions.Regex.Replace(problem, "\"trace_id\":\"[^\"]*\"", "");
}
