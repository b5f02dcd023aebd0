using System.Net;
using System.Text.RegularExpressions;

namespace Kimara.Simulator.Tests;

public sealed class OutputTests
{
    [Fact]
    public async Task Output_Url_Downloads_A_Valid_Png_With_The_Same_Bytes_Every_Time()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        using var first = await sim.Anonymous.GetAsync(outputUrl);
        var bytes = await first.Content.ReadAsByteArrayAsync();
        var again = await sim.Anonymous.GetByteArrayAsync(outputUrl);
        var (width, height, _) = PngReader.Decode(bytes);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("image/png", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, first.Content.Headers.ContentLength);
        Assert.Equal((512, 512), (width, height));
        Assert.Equal(bytes, again);
    }

    [Fact]
    public async Task Output_Pixels_Follow_The_Inputs()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var a = await sim.CreateRunAsync("a red barn");
        var b = await sim.CreateRunAsync("a red barn");
        var c = await sim.CreateRunAsync("a blue barn");
        var urls = new List<string>();
        sim.Clock.Advance(TimeSpan.FromSeconds(10));
        foreach (var id in new[] { a, b, c })
        {
            using var response = await sim.Client.GetAsync($"runs/{id}");
            urls.Add((await SimulatorHarness.ReadJsonAsync(response)).GetProperty("output_url").GetString()!);
        }

        var pixels = new List<byte[]>();
        foreach (var url in urls)
            pixels.Add(PngReader.Decode(await sim.Anonymous.GetByteArrayAsync(url)).Pixels);

        Assert.Equal(pixels[0], pixels[1]);
        Assert.NotEqual(pixels[0], pixels[2]);
    }

    [Theory]
    [InlineData("16:9", 768, 432)]
    [InlineData("3:4", 480, 640)]
    public async Task Output_Size_Follows_The_Aspect_Ratio(string aspectRatio, int width, int height)
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync("wide", new { aspect_ratio = aspectRatio });
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        var png = PngReader.Decode(await sim.Anonymous.GetByteArrayAsync(outputUrl));

        Assert.Equal((width, height), (png.Width, png.Height));
    }

    [Fact]
    public async Task Output_Url_Is_Stable_Across_Polls_And_Expires_After_Its_Lifetime()
    {
        await using var sim = await SimulatorHarness.StartAsync(o => o.OutputUrlLifetimeSeconds = 30);
        var runId = await sim.CreateRunAsync();
        var firstUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;
        sim.Clock.Advance(TimeSpan.FromSeconds(20));
        using var later = await sim.Client.GetAsync($"runs/{runId}");
        var laterUrl = (await SimulatorHarness.ReadJsonAsync(later)).GetProperty("output_url").GetString();

        using var beforeExpiry = await sim.Anonymous.GetAsync(firstUrl);
        sim.Clock.Advance(TimeSpan.FromSeconds(11));
        using var afterExpiry = await sim.Anonymous.GetAsync(firstUrl);

        Assert.Equal(firstUrl, laterUrl);
        Assert.Equal(HttpStatusCode.OK, beforeExpiry.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, afterExpiry.StatusCode);
        Assert.Equal("expired", (await SimulatorHarness.ReadJsonAsync(afterExpiry)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Output_Url_With_Tampered_Or_Missing_Signature_Is_Forbidden()
    {
        await using var sim = await SimulatorHarness.StartAsync();
        var runId = await sim.CreateRunAsync();
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;
        var expires = long.Parse(Regex.Match(outputUrl, "expires=([0-9]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var tamperedSig = Regex.Replace(outputUrl, "sig=(.)", m => "sig=" + (m.Groups[1].Value == "0" ? "1" : "0"));
        var extendedExpiry = outputUrl.Replace($"expires={expires}", $"expires={expires + 3600}", StringComparison.Ordinal);
        var noSig = outputUrl[..outputUrl.IndexOf("&sig=", StringComparison.Ordinal)];

        foreach (var url in new[] { tamperedSig, extendedExpiry, noSig })
        {
            using var response = await sim.Anonymous.GetAsync(url);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
    }

    [Fact]
    public async Task Output_Of_Unknown_Run_Is_404()
    {
        await using var sim = await SimulatorHarness.StartAsync();

        using var response = await sim.Anonymous.GetAsync("cdn/outputs/run_000000000000000000000000.png?expires=1&sig=00");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Output_Bytes_Gives_A_Valid_Png_Of_About_That_Size()
    {
        await using var sim = await SimulatorHarness.StartAsync(o => o.OutputBytes = 5_000_000);
        var runId = await sim.CreateRunAsync();
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        using var response = await sim.Anonymous.GetAsync(outputUrl);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var png = PngReader.Decode(bytes);

        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        Assert.InRange(bytes.Length, 4_950_000, 5_050_000);
        Assert.True(png.Width > 1 && png.Height > 1);
        Assert.Equal(bytes, await sim.Anonymous.GetByteArrayAsync(outputUrl));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1_000)]
    [InlineData(65_536)]
    [InlineData(300_000)]
    public async Task Small_Output_Bytes_Still_Give_Valid_Pngs(int outputBytes)
    {
        await using var sim = await SimulatorHarness.StartAsync(o => o.OutputBytes = outputBytes);
        var runId = await sim.CreateRunAsync();
        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        var bytes = await sim.Anonymous.GetByteArrayAsync(outputUrl);

        PngReader.Decode(bytes);
        Assert.InRange(bytes.Length, outputBytes * 0.9, outputBytes * 1.1);
    }

    [Fact]
    public async Task Public_Base_Url_Replaces_The_Request_Host_In_Output_Urls()
    {
        await using var sim = await SimulatorHarness.StartAsync(o => o.PublicBaseUrl = "https://cdn.example.test/");
        var runId = await sim.CreateRunAsync();

        var outputUrl = (await sim.CompleteRunAsync(runId)).GetProperty("output_url").GetString()!;

        Assert.StartsWith($"https://cdn.example.test/cdn/outputs/{runId}.png?expires=", outputUrl);
    }
}
