using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Runs;

/// <summary>The zero-setup default (no Redis) runs the same documented flow.</summary>
public sealed class InMemoryStoreFlowTests(InMemoryGatewayFixture fixture) : IClassFixture<InMemoryGatewayFixture>
{
    [Fact]
    public async Task Documented_Flow_Works_On_The_In_Memory_Store()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var run = await client.SubmitTextToImageAsync();

        var done = await client.WaitForTerminalAsync(run["id"]!.GetValue<string>());

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.True(fixture.Gateway.Logs.Contains("runs are kept in memory"));
    }
}
