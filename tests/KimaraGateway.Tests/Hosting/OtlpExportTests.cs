using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Hosting;

public sealed class OtlpExportTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Traces_Are_Exported_Over_Otlp_When_An_Endpoint_Is_Configured()
    {
        var traces = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = WebApplication.CreateSlimBuilder();
        await using var app = collector.Build();
        app.MapPost("/v1/traces", (HttpRequest request) =>
        {
            traces.TrySetResult(request.ContentType);
            return Results.Ok();
        });
        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync();
        var endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using var gateway = new Infrastructure.GatewayFactory(fixture.Simulator, redis: null, new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        using var client = gateway.CreateCallerClient();

        using var response = await client.GetAsync("/runs");
        var contentType = await traces.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("application/x-protobuf", contentType);
        await app.StopAsync();
    }
}
