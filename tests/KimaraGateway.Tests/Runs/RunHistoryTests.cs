using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Runs;

/// <summary>
/// <c>GET /runs</c> through the full pipeline. Each test seeds a history for a caller id of its own in the gateway's
/// store and reads it as the admin caller (<c>caller=</c>), so no other test's runs appear in it.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RunHistoryTests(GatewayFixture fixture)
{
    [Fact]
    public async Task History_Pages_Newest_First_With_Cursors_Until_The_Last_Page()
    {
        var (caller, runs) = await SeedAsync(7);
        using var admin = fixture.Gateway.CreateCallerClient(TestCallers.Admin);

        var ids = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await ListAsync(admin, $"caller={caller}&limit=3" + (cursor is null ? "" : $"&cursor={cursor}"));
            ids.AddRange(page["data"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(runs.OrderByDescending(r => r.CreatedAt).Select(r => r.Id), ids);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task History_Filters_By_Status_And_App_Across_Pages()
    {
        var (caller, runs) = await SeedAsync(12);
        using var admin = fixture.Gateway.CreateCallerClient(TestCallers.Admin);

        var completedUpscales = new List<string>();
        string? cursor = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = await ListAsync(admin, $"caller={caller}&limit=2&status=completed&app_id=upscaler" + (cursor is null ? "" : $"&cursor={cursor}"));
            completedUpscales.AddRange(page["data"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
            Assert.All(page["data"]!.AsArray(), r => Assert.Equal("completed", r!["status"]!.GetValue<string>()));
            if ((cursor = page["next_cursor"]?.GetValue<string>()) is null)
            {
                break;
            }
        }

        var expected = runs.Where(r => r is { Status: RunStatus.Completed, AppId: "upscaler" }).OrderByDescending(r => r.CreatedAt).Select(r => r.Id);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, completedUpscales);
    }

    [Fact]
    public async Task A_Caller_Lists_Only_Their_Own_Runs()
    {
        using var alice = fixture.Gateway.CreateCallerClient();
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        var id = (await alice.SubmitTextToImageAsync())["id"]!.GetValue<string>();

        var mine = await ListAsync(alice, "limit=100");
        var theirs = await ListAsync(bob, "limit=100");
        using var peek = await bob.GetAsync($"/runs?caller={TestCallers.Alice}");

        Assert.Equal(id, mine["data"]![0]!["id"]!.GetValue<string>());
        Assert.DoesNotContain(theirs["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == id);
        Assert.Equal(HttpStatusCode.Forbidden, peek.StatusCode);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("limit=", "limit")]
    [InlineData("status=done", "status")]
    [InlineData("status=1", "status")]
    [InlineData("status=queued,running", "status")]
    [InlineData("app_id=", "app_id")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("cursor=", "cursor")]
    public async Task A_Bad_Query_Value_Is_A_400_Problem_Naming_It(string query, string parameter)
    {
        using var client = fixture.Gateway.CreateCallerClient();

        using var response = await client.GetAsync($"/runs?{query}");
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("validation_failed", problem["code"]!.GetValue<string>());
        Assert.NotNull(problem["errors"]![parameter]);
    }

    private async Task<(string Caller, List<RunRecord> Runs)> SeedAsync(int count)
    {
        var caller = "hist-" + Guid.NewGuid().ToString("N")[..12];
        var store = fixture.Gateway.Services.GetRequiredService<IRunStore>();
        var start = DateTimeOffset.UtcNow.AddMinutes(-count);
        string[] apps = ["text-to-image", "upscaler", "image-to-image"];
        var runs = new List<RunRecord>();
        for (var i = 0; i < count; i++)
        {
            var at = start.AddSeconds(i * 7);
            var run = new RunRecord { Id = RunIds.New(), CallerId = caller, AppId = apps[i % 3], Stage = RunStage.Done, CreatedAt = at, UpdatedAt = at, History = [new RunTransition(1, RunStatus.Queued, at)] };
            run = i % 2 == 0 ? run.Advance(RunStatus.Completed, at) : run.Fail(RunErrorCodes.RunFailed, "seeded", at);
            await store.CreateAsync(run, at, default);
            runs.Add(run);
        }

        return (caller, runs);
    }

    private static async Task<JsonObject> ListAsync(HttpClient client, string query)
    {
        using var response = await client.GetAsync($"/runs?{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
