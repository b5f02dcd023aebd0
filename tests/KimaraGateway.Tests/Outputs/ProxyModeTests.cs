using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

/// <summary>Proxy mode: nothing stored; the output streams from Kimara's URL while it is valid and is 410 Gone after.</summary>
public sealed class ProxyModeTests
{
    private static readonly Dictionary<string, string?> Proxy = new()
    {
        ["Outputs:Mode"] = "Proxy",
        ["Tracking:PollInterval"] = "00:00:00.300",
    };

    [Fact]
    public async Task Output_Streams_From_Kimara_While_Its_Link_Is_Valid_And_Is_410_After()
    {
        var clock = new JumpingClock();
        await using var simulator = await SimulatorApp.StartAsync(
            o =>
            {
                o.ApiKey = "sim-secret-" + Guid.NewGuid().ToString("N");
                o.QueuedSeconds = 0;
                o.RunningSeconds = 0.2;
                o.MinPollIntervalSeconds = 0;
                o.OutputUrlLifetimeSeconds = 20;
            },
            services => services.AddSingleton<TimeProvider>(clock));
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, Proxy);
        using var client = gateway.CreateCallerClient();
        using var anonymous = gateway.CreateCallerClient(caller: null);
        var prompt = "proxy " + Guid.NewGuid();

        var run = await OutputTestKit.CompleteRunAsync(client, prompt);
        var id = run["id"]!.GetValue<string>();
        var (_, produced) = await OutputTestKit.ProducedBySimulatorAsync(simulator, prompt);

        Assert.Null(run["output"]);
        using (var before = await client.GetAsync($"/runs/{id}/output"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            Assert.Equal("image/png", before.Content.Headers.ContentType!.MediaType);
            Assert.Equal(produced.Length, before.Content.Headers.ContentLength);
            Assert.Equal(produced, await before.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(produced, await OutputTestKit.DownloadAsync(anonymous, run["output_url"]!.GetValue<string>()));

        clock.Jump(TimeSpan.FromSeconds(60));

        using var after = await client.GetAsync($"/runs/{id}/output");
        using var afterSigned = await anonymous.GetAsync((await client.GetRunAsync(id))["output_url"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Gone, after.StatusCode);
        Assert.Equal("output_expired", (await after.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Gone, afterSigned.StatusCode);
    }

    [Fact]
    public async Task Range_And_Conditional_Requests_Pass_Through_To_Kimara()
    {
        await using var cdn = await RangeCdn.StartAsync();
        await using var simulator = await GatewayFixture.StartSimulatorAsync(o =>
        {
            o.QueuedSeconds = 0;
            o.RunningSeconds = 0.2;
            o.MinPollIntervalSeconds = 0;
            o.PublicBaseUrl = cdn.BaseAddress.ToString();
        });
        await using var gateway = new GatewayFactory(simulator, (await RedisServer.Shared).ConnectionString, Proxy);
        using var client = gateway.CreateCallerClient();
        var id = (await OutputTestKit.CompleteRunAsync(client, "proxy range " + Guid.NewGuid()))["id"]!.GetValue<string>();

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { Range = new RangeHeaderValue(500, 1499) } };
        using var rangedResponse = await client.SendAsync(ranged);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { IfNoneMatch = { new EntityTagHeaderValue("\"cdn-v1\"") } } };
        using var conditionalResponse = await client.SendAsync(conditional);

        Assert.Equal(HttpStatusCode.PartialContent, rangedResponse.StatusCode);
        Assert.Equal(1000, rangedResponse.Content.Headers.ContentLength);
        Assert.Equal("image/png", rangedResponse.Content.Headers.ContentType!.MediaType);
        Assert.Equal(500, rangedResponse.Content.Headers.ContentRange!.From);
        Assert.Equal(cdn.Bytes.Length, rangedResponse.Content.Headers.ContentRange.Length);
        Assert.Equal(cdn.Bytes.AsSpan(500, 1000).ToArray(), await rangedResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotModified, conditionalResponse.StatusCode);
    }
}
