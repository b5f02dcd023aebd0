using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Events;

namespace KimaraGateway.Tests.Hosting;

[Collection(GatewayCollection.Name)]
public sealed partial class LoggingTests(GatewayFixture fixture)
{
    [Fact]
    public void The_Logger_Factory_Hands_Out_One_Logger_Per_Category_And_It_Still_Writes()
    {
        var factory = fixture.Gateway.Services.GetRequiredService<ILoggerFactory>();
        var category = "CategoryProbe" + Guid.NewGuid().ToString("N");

        var logger = factory.CreateLogger(category);
        Assert.Same(logger, factory.CreateLogger(category));
        Assert.NotSame(logger, factory.CreateLogger(category + "-other"));

        var marker = Guid.NewGuid().ToString("N");
        logger.LogWarning("Probe {Marker}", marker);
        Assert.True(fixture.Gateway.Logs.Contains(marker), "the cached logger's event reached the sinks");
    }

    [Fact]
    public void Redaction_Masks_The_Kimara_Key_And_Credentials_In_Every_Property()
    {
        var marker = Guid.NewGuid().ToString("N");
        var gatewayKey = "gk-" + Guid.NewGuid().ToString("N");
        var jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9." + Guid.NewGuid().ToString("N");
        var signature = Guid.NewGuid().ToString("N");
        var password = "pw" + Guid.NewGuid().ToString("N");
        var logger = fixture.Gateway.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RedactionProbe");

        var authorization = $"Bearer {gatewayKey}";
        var link = $"https://gw.example/runs/r1/output?exp=1&sig={signature}";
        var request = new ProbeRequest($"X-Api-Key: {gatewayKey}", [$"Authorization: Bearer {jwt}"],
            new Dictionary<string, string> { ["redis"] = $"redis:6379,password={password},ssl=true" });

        LogCall(logger, marker, authorization, fixture.Simulator.ApiKey, link);
        LogRequest(logger, marker, request);

        var lines = fixture.Gateway.Logs.Lines.Where(l => l.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line =>
        {
            Assert.Contains("[redacted]", line, StringComparison.Ordinal);
            Assert.DoesNotContain(gatewayKey, line, StringComparison.Ordinal);
            Assert.DoesNotContain(jwt, line, StringComparison.Ordinal);
            Assert.DoesNotContain(signature, line, StringComparison.Ordinal);
            Assert.DoesNotContain(password, line, StringComparison.Ordinal);
            Assert.DoesNotContain(fixture.Simulator.ApiKey, line, StringComparison.Ordinal);
        });
        Assert.Contains("https://gw.example/runs/r1/output?exp=1&sig=[redacted]", lines[0], StringComparison.Ordinal);
        Assert.Contains("ssl=true", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_Logs_Carry_Caller_Run_App_And_Trace_Ids()
    {
        var events = new EventSink();
        await using var gateway = fixture.Gateway.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<ILogEventSink>(events)));
        using var client = gateway.CreateDefaultClient(new SecretLeakCheck(fixture.Simulator.ApiKey, fixture.Gateway.Logs));
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestCallers.KeyOf(TestCallers.Bob));

        using var submitted = await client.SubmitAsync("text-to-image", new { prompt = "logged" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var read = await client.GetAsync($"/runs/{id}");

        await events.WaitForRequestLogsAsync(2);

        var post = Assert.Single(events.RequestLogs(), e => Text(e, "RequestMethod") == "POST");
        var get = Assert.Single(events.RequestLogs(), e => Text(e, "RequestMethod") == "GET");
        Assert.Equal(TestCallers.Bob, Text(post, "CallerId"));
        Assert.Equal(id, Text(post, "RunId"));
        Assert.Equal("text-to-image", Text(post, "AppId"));
        Assert.NotNull(post.TraceId);
        Assert.Equal(id, Text(get, "RunId"));
        Assert.Equal(TestCallers.Bob, Text(get, "CallerId"));
        Assert.NotEqual(post.TraceId, get.TraceId);
    }

    private static string? Text(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: { } v } ? v.ToString() : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Probe {Marker} calling with {Authorization}, key {Key}, link {Link}")]
    private static partial void LogCall(ILogger logger, string marker, string authorization, string key, string link);

    [LoggerMessage(Level = LogLevel.Information, Message = "Probe {Marker} request {@Request}")]
    private static partial void LogRequest(ILogger logger, string marker, ProbeRequest request);

    public sealed record ProbeRequest(string Header, IReadOnlyList<string> Headers, IReadOnlyDictionary<string, string> Settings);

    private sealed class EventSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        /// <summary>Request logs are written after the response has been sent, so the test may read the response first.</summary>
        public async Task WaitForRequestLogsAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (RequestLogs().Count() < count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }

        public IEnumerable<LogEvent> RequestLogs() =>
            _events.Where(e => e.MessageTemplate.Text.StartsWith("HTTP {RequestMethod}", StringComparison.Ordinal)
                && e.Properties.TryGetValue("RequestPath", out var p) && p.ToString().Contains("/runs", StringComparison.Ordinal));
    }
}
