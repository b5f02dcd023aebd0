using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Callers;

/// <summary>Per-caller limits, held in Redis so two gateway instances sharing it enforce one count.</summary>
public sealed class LimitsTests(CallerGateways gateways) : IClassFixture<CallerGateways>
{
    [Fact]
    public async Task A_Concurrent_Run_Limit_Holds_Across_Two_Instances_And_Recovers_When_Runs_Finish()
    {
        var prefix = CallerGateways.NewPrefix();
        KeyValuePair<string, string?>[] settings = [TestCallers.Limit(TestCallers.Limited, "ConcurrentRuns", 2)];
        var first = await gateways.StartAsync(settings, sharedPrefix: prefix);
        var second = await gateways.StartAsync(settings, sharedPrefix: prefix);
        using var onFirst = first.CreateCallerClient(TestCallers.Limited);
        using var onSecond = second.CreateCallerClient(TestCallers.Limited);
        using var otherCaller = second.CreateCallerClient(TestCallers.Alice);

        var a = await onFirst.SubmitTextToImageAsync();
        var b = await onSecond.SubmitTextToImageAsync();
        using var thirdOnFirst = await onFirst.SubmitAsync("text-to-image", new { prompt = "one too many" });
        using var thirdOnSecond = await onSecond.SubmitAsync("text-to-image", new { prompt = "one too many" });
        using var someoneElse = await otherCaller.SubmitAsync("text-to-image", new { prompt = "not limited" });

        await AssertLimitedAsync(thirdOnFirst, "concurrent-runs", "q=2");
        await AssertLimitedAsync(thirdOnSecond, "concurrent-runs", "q=2");
        Assert.Equal(HttpStatusCode.Accepted, someoneElse.StatusCode);

        await onFirst.WaitForTerminalAsync(a["id"]!.GetValue<string>());
        await onSecond.WaitForTerminalAsync(b["id"]!.GetValue<string>());
        using var afterOnSecond = await onSecond.SubmitAsync("text-to-image", new { prompt = "room again" });
        using var afterOnFirst = await onFirst.SubmitAsync("text-to-image", new { prompt = "room again" });
        using var overAgain = await onFirst.SubmitAsync("text-to-image", new { prompt = "full again" });

        Assert.Equal(HttpStatusCode.Accepted, afterOnSecond.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, afterOnFirst.StatusCode);
        await AssertLimitedAsync(overAgain, "concurrent-runs", "q=2");
    }

    [Fact]
    public async Task A_Failed_Submission_Frees_Its_Concurrent_Slot()
    {
        var gateway = await gateways.StartAsync([TestCallers.Limit(TestCallers.Limited, "ConcurrentRuns", 1)]);
        using var client = gateway.CreateCallerClient(TestCallers.Limited);

        using var invalid = await client.SubmitAsync("text-to-image", new { });
        var failing = await client.SubmitTextToImageAsync("this one will [fail]");
        await client.WaitForTerminalAsync(failing["id"]!.GetValue<string>());
        using var next = await client.SubmitAsync("text-to-image", new { prompt = "the slot is free" });

        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
    }

    [Fact]
    public async Task Submissions_Per_Minute_Are_Counted_Across_Instances_And_Answered_429_With_RateLimit_Headers()
    {
        var prefix = CallerGateways.NewPrefix();
        KeyValuePair<string, string?>[] settings = [TestCallers.Limit(TestCallers.Limited, "SubmissionsPerMinute", 2)];
        var first = await gateways.StartAsync(settings, sharedPrefix: prefix);
        var second = await gateways.StartAsync(settings, sharedPrefix: prefix);
        using var onFirst = first.CreateCallerClient(TestCallers.Limited);
        using var onSecond = second.CreateCallerClient(TestCallers.Limited);

        await onFirst.SubmitTextToImageAsync();
        await onSecond.SubmitTextToImageAsync();
        using var third = await onFirst.SubmitAsync("text-to-image", new { prompt = "third in a minute" });
        using var read = await onFirst.GetAsync("/runs");

        var retryAfter = await AssertLimitedAsync(third, "submissions", "q=2;w=60");
        Assert.InRange(retryAfter, 1, 61);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task Reads_Per_Second_Are_Limited_With_429_Never_503()
    {
        var gateway = await gateways.StartAsync([TestCallers.Limit(TestCallers.Limited, "ReadsPerSecond", 2)]);
        using var client = gateway.CreateCallerClient(TestCallers.Limited);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 20; i++)
        {
            var response = await client.GetAsync("/runs");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && limited is null)
            {
                limited = response;
                continue;
            }

            response.Dispose();
        }

        Assert.DoesNotContain(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.NotNull(limited);
        using (limited)
        {
            await AssertLimitedAsync(limited, "reads", "q=2;w=1");
        }
    }

    [Fact]
    public async Task Runs_Per_Day_Per_App_And_In_Total_Are_Quotas()
    {
        var gateway = await gateways.StartAsync([
            TestCallers.Limit(TestCallers.Limited, "RunsPerDayPerApp:text-to-image", 1),
            TestCallers.Limit(TestCallers.Limited, "RunsPerDay", 5),
            TestCallers.Limit(TestCallers.Bob, "RunsPerDay", 1),
        ]);
        using var limited = gateway.CreateCallerClient(TestCallers.Limited);
        using var bob = gateway.CreateCallerClient(TestCallers.Bob);

        await limited.SubmitTextToImageAsync();
        using var secondOfApp = await limited.SubmitAsync("text-to-image", new { prompt = "second today" });
        await bob.SubmitTextToImageAsync();
        using var secondOfBob = await bob.SubmitAsync("text-to-image", new { prompt = "second today" });

        var appRetry = await AssertLimitedAsync(secondOfApp, "runs-per-day:text-to-image", "q=1;w=86400");
        Assert.InRange(appRetry, 86_000, 86_400);
        await AssertLimitedAsync(secondOfBob, "runs-per-day", "q=1;w=86400");
    }

    [Fact]
    public async Task An_Idempotent_Replay_Takes_No_Run_Slot_Or_Quota()
    {
        var gateway = await gateways.StartAsync([
            TestCallers.Limit(TestCallers.Limited, "ConcurrentRuns", 1),
            TestCallers.Limit(TestCallers.Limited, "RunsPerDay", 1),
        ]);
        using var client = gateway.CreateCallerClient(TestCallers.Limited);

        var first = await PostWithKeyAsync(client, "replay-key");
        var replay = await PostWithKeyAsync(client, "replay-key");
        var another = await PostWithKeyAsync(client, "another-key");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, another.StatusCode);
    }

    [Fact]
    public async Task Without_Redis_The_Limits_Hold_In_Process()
    {
        var gateway = await gateways.StartAsync([
            TestCallers.Limit(TestCallers.Limited, "ConcurrentRuns", 1),
            TestCallers.Limit(TestCallers.Limited, "SubmissionsPerMinute", 3),
        ], redis: false);
        using var client = gateway.CreateCallerClient(TestCallers.Limited);

        var run = await client.SubmitTextToImageAsync();
        using var concurrent = await client.SubmitAsync("text-to-image", new { prompt = "second at once" });
        await client.WaitForTerminalAsync(run["id"]!.GetValue<string>());
        await client.SubmitTextToImageAsync();
        using var overRate = await client.SubmitAsync("text-to-image", new { prompt = "fourth in a minute" });

        await AssertLimitedAsync(concurrent, "concurrent-runs", "q=1");
        await AssertLimitedAsync(overRate, "submissions", "q=3;w=60");
    }

    private static async Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/runs")
        {
            Content = new StringContent("""{"app_id":"text-to-image","inputs":{"prompt":"once"}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return await client.SendAsync(request);
    }

    /// <summary>Asserts the 429 shape every limit shares and returns its Retry-After in seconds.</summary>
    private static async Task<int> AssertLimitedAsync(HttpResponseMessage response, string policy, string parameters)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("rate_limited", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        var retryAfter = int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(retryAfter >= 1, $"Retry-After {retryAfter}");
        Assert.Equal($"\"{policy}\";{parameters}" + (policy == "concurrent-runs" ? ";qu=\"concurrent-requests\"" : ""), response.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal($"\"{policy}\";r=0;t={retryAfter}", response.Headers.GetValues("RateLimit").Single());
        return retryAfter;
    }
}
