using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace KimaraGateway.Tests.Outputs;

/// <summary>A simulator with mid-sized outputs and one gateway re-hosting into the store a subclass picks.</summary>
public abstract class OutputsGatewayFixture : IAsyncLifetime
{
    public SimulatorServer Simulator { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await GatewayFixture.StartSimulatorAsync(o => o.OutputBytes = 300_000);
        Gateway = new GatewayFactory(Simulator, (await RedisServer.Shared).ConnectionString, await SettingsAsync());
        _ = Gateway.Server;
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();
}

public sealed class FileStoreGatewayFixture : OutputsGatewayFixture
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

public sealed class S3StoreGatewayFixture : OutputsGatewayFixture
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() =>
        new((await S3rverServer.Shared).StoreSettings($"serving-{Guid.NewGuid():N}/"));
}

/// <summary>Serving a re-hosted output, on the owner route and the signed link, identically for every store.</summary>
public abstract class OutputServingTests(OutputsGatewayFixture fixture)
{
    protected abstract Type ExpectedStore { get; }

    [Fact]
    public void The_Gateway_Uses_The_Configured_Store()
    {
        Assert.IsType(ExpectedStore, fixture.Gateway.Services.GetRequiredService<IOutputStore>());
    }

    [Fact]
    public async Task Owner_Download_Is_The_Stored_Output_With_Cache_And_File_Headers()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var run = await OutputTestKit.CompleteRunAsync(client, "serving headers " + Guid.NewGuid());
        var id = run["id"]!.GetValue<string>();

        using var response = await client.GetAsync($"/runs/{id}/output");
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(run["output"]!["bytes"]!.GetValue<long>(), response.Content.Headers.ContentLength);
        Assert.Equal(run["output"]!["sha256"]!.GetValue<string>(), OutputTestKit.Sha256(bytes));
        Assert.Equal($"\"{run["output"]!["sha256"]!.GetValue<string>()}\"", response.Headers.ETag!.Tag);
        Assert.Equal("inline", response.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal($"{id}.png", response.Content.Headers.ContentDisposition.FileName?.Trim('"'));
        Assert.True(response.Headers.CacheControl!.Private);
        Assert.Contains(response.Headers.CacheControl.Extensions, e => e.Name == "immutable");
        Assert.True(response.Headers.CacheControl.MaxAge >= TimeSpan.FromDays(30));
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
    }

    [Fact]
    public async Task Range_Requests_Get_206_With_The_Slice_And_416_Beyond_The_End()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var id = (await OutputTestKit.CompleteRunAsync(client, "serving range " + Guid.NewGuid()))["id"]!.GetValue<string>();
        var whole = await OutputTestKit.DownloadAsync(client, $"/runs/{id}/output");

        using var partial = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { Range = new RangeHeaderValue(1000, 1999) } };
        using var partialResponse = await client.SendAsync(partial);
        using var tail = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { Range = new RangeHeaderValue(null, 100) } };
        using var tailResponse = await client.SendAsync(tail);
        using var beyond = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { Range = new RangeHeaderValue(whole.Length + 10, null) } };
        using var beyondResponse = await client.SendAsync(beyond);

        Assert.Equal(HttpStatusCode.PartialContent, partialResponse.StatusCode);
        Assert.Equal(whole.AsSpan(1000, 1000).ToArray(), await partialResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(1000, partialResponse.Content.Headers.ContentRange!.From);
        Assert.Equal(whole.Length, partialResponse.Content.Headers.ContentRange.Length);
        Assert.Equal(HttpStatusCode.PartialContent, tailResponse.StatusCode);
        Assert.Equal(whole[^100..], await tailResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyondResponse.StatusCode);
        Assert.Equal(whole.Length, beyondResponse.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task If_None_Match_With_The_ETag_Gets_304_On_Both_Routes_And_Another_Tag_Gets_The_Bytes()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        var run = await OutputTestKit.CompleteRunAsync(client, "serving etag " + Guid.NewGuid());
        var id = run["id"]!.GetValue<string>();
        var etag = new EntityTagHeaderValue($"\"{run["output"]!["sha256"]!.GetValue<string>()}\"");

        using var owner = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { IfNoneMatch = { etag } } };
        using var ownerResponse = await client.SendAsync(owner);
        using var signed = new HttpRequestMessage(HttpMethod.Get, run["output_url"]!.GetValue<string>()) { Headers = { IfNoneMatch = { etag } } };
        using var signedResponse = await anonymous.SendAsync(signed);
        using var other = new HttpRequestMessage(HttpMethod.Get, $"/runs/{id}/output") { Headers = { IfNoneMatch = { new EntityTagHeaderValue("\"other\"") } } };
        using var otherResponse = await client.SendAsync(other);

        Assert.Equal(HttpStatusCode.NotModified, ownerResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotModified, signedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherResponse.StatusCode);
    }

    [Fact]
    public async Task Signed_Link_Works_With_No_Header_And_Supports_Range()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        var run = await OutputTestKit.CompleteRunAsync(client, "serving signed " + Guid.NewGuid());
        var link = run["output_url"]!.GetValue<string>();

        var bytes = await OutputTestKit.DownloadAsync(anonymous, link);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, link) { Headers = { Range = new RangeHeaderValue(0, 7) } };
        using var rangedResponse = await anonymous.SendAsync(ranged);

        Assert.Equal(run["output"]!["sha256"]!.GetValue<string>(), OutputTestKit.Sha256(bytes));
        Assert.Equal(HttpStatusCode.PartialContent, rangedResponse.StatusCode);
        Assert.Equal(bytes[..8], await rangedResponse.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Owner_Route_Needs_A_Credential_And_Another_Callers_Output_Is_404()
    {
        using var alice = fixture.Gateway.CreateCallerClient(TestCallers.Alice);
        using var bob = fixture.Gateway.CreateCallerClient(TestCallers.Bob);
        using var anonymous = fixture.Gateway.CreateCallerClient(caller: null);
        var id = (await OutputTestKit.CompleteRunAsync(alice, "serving owner " + Guid.NewGuid()))["id"]!.GetValue<string>();

        using var unauthenticated = await anonymous.GetAsync($"/runs/{id}/output");
        using var foreign = await bob.GetAsync($"/runs/{id}/output");
        using var missing = await alice.GetAsync($"/runs/{RunIds.New()}/output");

        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal("run_not_found", (await foreign.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Retention_Deletes_Outputs_Whose_Run_Expired_And_Keeps_Those_Of_Live_Runs()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var live = (await OutputTestKit.CompleteRunAsync(client, "retention " + Guid.NewGuid()))["id"]!.GetValue<string>();
        var store = fixture.Gateway.Services.GetRequiredService<IOutputStore>();
        var orphan = RunIds.New();
        await using (var spool = store.CreateSpool(orphan))
        {
            var bytes = RandomNumberGenerator.GetBytes(100);
            await spool.Stream.WriteAsync(bytes);
            await store.CommitAsync(orphan, spool, new OutputInfo("image/png", bytes.Length, OutputTestKit.Sha256(bytes)), default);
        }

        await fixture.Gateway.Services.GetRequiredService<OutputRetention>().SweepAsync(DateTimeOffset.UtcNow.AddDays(1), default);

        Assert.Null(await store.FindAsync(orphan, default));
        Assert.NotNull(await store.FindAsync(live, default));
        using var response = await client.GetAsync($"/runs/{live}/output");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class FileStoreServingTests(FileStoreGatewayFixture fixture) : OutputServingTests(fixture), IClassFixture<FileStoreGatewayFixture>
{
    protected override Type ExpectedStore => typeof(FileOutputStore);
}

public sealed class S3StoreServingTests(S3StoreGatewayFixture fixture) : OutputServingTests(fixture), IClassFixture<S3StoreGatewayFixture>
{
    protected override Type ExpectedStore => typeof(S3OutputStore);
}
