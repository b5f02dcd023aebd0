using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Infrastructure;
using KimaraGateway.Upstream;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace KimaraGateway.Tests.Hosting;

[Collection(GatewayCollection.Name)]
public sealed class HealthTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Live_Answers_Healthy_Without_Credentials()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/health/live");
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body!["status"]!.GetValue<string>());
        Assert.Empty(body["checks"]!.AsObject());
    }

    [Fact]
    public async Task Ready_Reports_Redis_And_Kimara_As_Json_Without_Credentials()
    {
        using var client = fixture.Gateway.CreateCallerClient(caller: null);

        using var response = await client.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store, no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("healthy", body!["status"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["redis"]!["status"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["kimara"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Ready_Is_Unhealthy_While_Redis_Is_Down_And_Recovers_Without_Restart()
    {
        var redis = await RedisServer.StartAsync();
        await using var gateway = new GatewayFactory(fixture.Simulator, redis.ConnectionString);
        using var client = gateway.CreateCallerClient(caller: null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        redis.Kill();
        var down = await WaitForReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        await using var restarted = await redis.RestartAsync();
        var up = await WaitForReadyAsync(client, HttpStatusCode.OK);

        Assert.Equal("unhealthy", down["status"]!.GetValue<string>());
        Assert.Equal("unhealthy", down["checks"]!["redis"]!["status"]!.GetValue<string>());
        Assert.Equal("healthy", up["checks"]!["redis"]!["status"]!.GetValue<string>());
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task Kimara_Unreachable_Makes_Ready_Degraded_But_Still_Ready()
    {
        var simulator = await GatewayFixture.StartSimulatorAsync();
        await using var gateway = new GatewayFactory(simulator, redis: null);
        using var client = gateway.CreateCallerClient(caller: null);
        _ = gateway.Server;

        await simulator.DisposeAsync();
        using var response = await client.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("degraded", body!["status"]!.GetValue<string>());
        Assert.Equal("degraded", body["checks"]!["kimara"]!["status"]!.GetValue<string>());
        Assert.Null(body["checks"]!["redis"]);
    }

    [Fact]
    public async Task Kimara_Check_Is_Degraded_While_The_Circuit_Is_Open_And_Healthy_After_A_Recent_Answer()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var reachability = new KimaraReachability(clock);
        var services = fixture.Gateway.Services;
        var check = new KimaraHealthCheck(services.GetRequiredService<KimaraEndpoint>(), reachability, services.GetRequiredService<IHttpClientFactory>(), clock);
        var context = new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("kimara", check, HealthStatus.Degraded, [Health.ReadyTag]),
        };

        reachability.Observe(new UpstreamResult(UpstreamOutcome.Unavailable, RetryAfter: TimeSpan.FromSeconds(15), Reason: KimaraClient.CircuitOpenReason));
        var open = await check.CheckHealthAsync(context);
        clock.Advance(TimeSpan.FromSeconds(16));
        reachability.Observe(new UpstreamResult(UpstreamOutcome.Ok, new KimaraRun { Id = "r", Status = "queued" }, StatusCode: 200));
        var closed = await check.CheckHealthAsync(context);

        Assert.Equal(HealthStatus.Degraded, open.Status);
        Assert.Equal("open", open.Data["circuit"]);
        Assert.Equal(HealthStatus.Healthy, closed.Status);
        Assert.Equal("closed", closed.Data["circuit"]);
    }

    [Fact]
    public async Task A_Feature_Check_Tagged_Ready_Joins_Readiness_But_Not_Liveness()
    {
        await using var gateway = fixture.Gateway.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.AddHealthChecks().AddCheck("feature-check", () => HealthCheckResult.Unhealthy("The feature cannot work."), tags: [Health.ReadyTag])));
        using var client = gateway.CreateDefaultClient(new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));

        using var ready = await client.GetAsync("/health/ready");
        using var live = await client.GetAsync("/health/live");
        var body = await ready.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("unhealthy", body!["checks"]!["feature-check"]!["status"]!.GetValue<string>());
        Assert.Equal("The feature cannot work.", body["checks"]!["feature-check"]!["description"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    private static async Task<JsonObject> WaitForReadyAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync("/health/ready");
            if (response.StatusCode == expected)
            {
                return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/health/ready still answers {response.StatusCode}, not {expected}.");
            await Task.Delay(200);
        }
    }
}
