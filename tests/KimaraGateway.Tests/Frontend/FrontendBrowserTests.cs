using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kimara.Simulator;
using KimaraGateway.Hosting;
using KimaraGateway.Tests.Apps;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KimaraGateway.Tests.Frontend;

/// <summary>The simulator, the gateway on real Kestrel with Redis and the frontend enabled, and one headless chromium.</summary>
public sealed class FrontendFixture : IAsyncLifetime
{
    public SimulatorServer Simulator { get; private set; } = null!;

    public SimulatorClient Upstream { get; private set; } = null!;

    public KestrelGateway Gateway { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await GatewayFixture.StartSimulatorAsync();
        Upstream = new SimulatorClient(Simulator);
        var redis = await RedisServer.Shared;
        Gateway = KestrelGateway.Start(Simulator, redis.ConnectionString, new Dictionary<string, string?>(
            [new("Frontend:Enabled", "true"), TestCallers.Limit(TestCallers.Limited, "SubmissionsPerMinute", 1)]),
            keyPrefix: $"f{Guid.NewGuid():N}:"[..13]);
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await HeadlessChromium.LaunchAsync(Playwright);
    }

    public Task<FrontendSession> OpenAsync(int width = 1280, int height = 900) => FrontendSession.OpenAsync(Browser, Gateway.Address, width, height);

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Gateway.DisposeAsync();
        Upstream.Dispose();
        await Simulator.DisposeAsync();
    }
}

/// <summary>
/// The reference client at <c>/app/</c> in Debian's chromium against a real gateway, Redis and the simulator, as a person
/// uses it. Screenshots of the key states go to <see cref="HeadlessChromium.ArtifactsFolder"/> (<c>frontend-*.png</c>).
/// </summary>
public sealed class FrontendBrowserTests(FrontendFixture fixture) : IClassFixture<FrontendFixture>
{
    private static readonly string[] StatusOrder = ["queued", "running", "completed"];

    [Fact]
    public async Task Text_To_Image_Runs_From_Sign_In_To_A_Loaded_Output_And_Shows_In_History()
    {
        await using var session = await fixture.OpenAsync();
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Alice));
        await session.ScreenshotAsync("frontend-signed-in");
        var chosen = await session.Page.Locator("#app-select").InputValueAsync();

        await session.Field("prompt").FillAsync("a lighthouse at dawn");
        await session.Page.Locator("#submit").ClickAsync();
        var id = await session.WaitForStatusAsync("completed");
        var width = await session.LoadedImageWidthAsync("#output-image");
        var progress = await session.ProgressAsync();
        var thumbnail = session.Page.Locator($"#history li[data-run-id='{id}'] img");
        var thumbnailWidth = await session.LoadedImageWidthAsync($"#history li[data-run-id='{id}'] img");
        await session.ScreenshotAsync("frontend-completed");
        var src = await session.Page.Locator("#output-image").GetAttributeAsync("src");
        var download = await session.Page.Locator("#output-download").GetAttributeAsync("href");
        using var client = fixture.Gateway.CreateClient(TestCallers.Alice);
        var run = await client.GetFromJsonAsync<JsonObject>($"runs/{id}");

        Assert.Equal("text-to-image", chosen);
        Assert.Equal("queued", progress[0]);
        Assert.Equal("completed", progress[^1]);
        Assert.Equal(progress, [.. StatusOrder.Where(progress.Contains)]);
        Assert.True(width > 0);
        Assert.True(thumbnailWidth > 0);
        Assert.Equal(1, await thumbnail.CountAsync());
        Assert.Equal("completed", run!["status"]!.GetValue<string>());
        Assert.Equal("a lighthouse at dawn", (await fixture.Upstream.ReceivedAsync())[^1]["inputs"]!["prompt"]!.GetValue<string>());
        Assert.Matches(@"/outputs/[^/?]+\?expires=\d+&sig=", src);
        Assert.Equal(src, download);
        Assert.Empty(await session.CspViolationsAsync());
        Assert.Empty(session.FailedResponses);
        Assert.DoesNotContain(fixture.Simulator.ApiKey, await session.Page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Wrong_Key_Is_Refused_With_A_Readable_Message_And_Keeps_The_Sign_In_Form()
    {
        await using var session = await fixture.OpenAsync();

        await session.Page.Locator("#credential").FillAsync("not-a-gateway-key");
        await session.Page.Locator("#signin-form button[type=submit]").ClickAsync();
        var error = session.Page.Locator("#signin-error");
        await Assertions.Expect(error).ToBeVisibleAsync();

        Assert.Equal("Your credential was not accepted; sign in again.", await error.InnerTextAsync());
        Assert.True(await session.Page.Locator("#workspace").IsHiddenAsync());
    }

    [Fact]
    public async Task An_Out_Of_Range_Value_Shows_The_Field_Error_Next_To_The_Field_And_Starts_No_Run()
    {
        await using var session = await fixture.OpenAsync();
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Bob));
        var postsBefore = await fixture.Upstream.PostCountAsync();

        await session.Field("prompt").FillAsync("too many steps");
        await session.Field("steps").FillAsync("500");
        await session.Page.Locator("#submit").ClickAsync();
        await Assertions.Expect(session.FieldError("steps")).ToBeVisibleAsync();
        await session.ScreenshotAsync("frontend-field-error");
        var sameField = await session.Page.EvaluateAsync<bool>(
            "() => document.getElementById('field-steps').parentElement === document.getElementById('field-steps-error').parentElement");
        var describedBy = await session.Field("steps").GetAttributeAsync("aria-describedby");
        using var client = fixture.Gateway.CreateClient(TestCallers.Bob);
        var runs = await client.GetFromJsonAsync<JsonObject>("runs");

        Assert.Contains("at most 100", await session.FieldError("steps").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("true", await session.Field("steps").GetAttributeAsync("aria-invalid"));
        Assert.True(sameField);
        Assert.Contains("field-steps-error", describedBy, StringComparison.Ordinal);
        Assert.False(await session.FieldError("prompt").IsVisibleAsync());
        Assert.True(await session.Page.Locator("#current").IsHiddenAsync());
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
        Assert.Empty(runs!["data"]!.AsArray());
    }

    [Fact]
    public async Task A_Double_Click_On_Submit_Starts_Exactly_One_Run()
    {
        await using var session = await fixture.OpenAsync();
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Admin));
        var postsBefore = await fixture.Upstream.PostCountAsync();
        var submissions = new List<IRequest>();
        session.Page.Request += (_, request) =>
        {
            if (request.Method == "POST")
            {
                submissions.Add(request);
            }
        };

        await session.Field("prompt").FillAsync("clicked twice");
        await session.Page.Locator("#submit").DblClickAsync();
        var id = await session.WaitForStatusAsync("completed");
        using var client = fixture.Gateway.CreateClient(TestCallers.Admin);
        var runs = await client.GetFromJsonAsync<JsonObject>("runs");
        var keys = await Task.WhenAll(submissions.Select(r => r.HeaderValueAsync("idempotency-key")));

        Assert.Equal(postsBefore + 1, await fixture.Upstream.PostCountAsync());
        Assert.Equal([id], runs!["data"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.False(string.IsNullOrEmpty(k)));
        Assert.Single(keys.Distinct());
    }

    [Fact]
    public async Task A_Rate_Limited_Submission_Says_When_To_Try_Again_And_Starts_Nothing()
    {
        await using var session = await fixture.OpenAsync();
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Limited));
        await session.Field("prompt").FillAsync("the one allowed this minute");
        await session.Page.Locator("#submit").ClickAsync();
        await Assertions.Expect(session.Page.Locator("#run-id")).Not.ToBeEmptyAsync();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        await session.Field("prompt").FillAsync("one too many");
        await session.Page.Locator("#submit").ClickAsync();
        var error = session.Page.Locator("#form-error");
        await Assertions.Expect(error).ToBeVisibleAsync();
        await session.ScreenshotAsync("frontend-rate-limited");

        Assert.Matches(@"^Too many requests: try again in \d+ s\.$", await error.InnerTextAsync());
        Assert.Equal(postsBefore, await fixture.Upstream.PostCountAsync());
    }

    [Fact]
    public async Task Without_The_Event_Stream_It_Follows_The_Run_By_Conditional_Polls()
    {
        await using var session = await fixture.OpenAsync();
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Alice));
        await session.Page.RouteAsync("**/runs/*/events", route => route.AbortAsync());
        var polls = new List<IRequest>();
        session.Page.Request += (_, request) =>
        {
            if (request.Method == "GET" && request.Url.Contains("/runs/", StringComparison.Ordinal) && !request.Url.Contains("/events", StringComparison.Ordinal))
            {
                polls.Add(request);
            }
        };

        await session.Field("prompt").FillAsync("followed by polling");
        await session.Page.Locator("#submit").ClickAsync();
        await session.WaitForStatusAsync("completed");
        var width = await session.LoadedImageWidthAsync("#output-image");
        var conditional = await Task.WhenAll(polls.Select(r => r.HeaderValueAsync("if-none-match")));

        Assert.True(width > 0);
        Assert.Contains(conditional, etag => etag is { Length: > 0 });
        Assert.Contains(polls, r => r.Url.Contains("wait=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_375_Pixels_Wide_The_Form_Fits_Every_Input_Has_A_Label_Keys_Work_And_An_Upload_Is_Previewed()
    {
        const string Unlabelled = "() => [...document.querySelectorAll('input, select, textarea')].filter((e) => e.labels.length === 0).map((e) => e.id || e.name)";
        const string Overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth";
        await using var session = await fixture.OpenAsync(width: 375, height: 812);
        var overflowAtSignIn = await session.Page.EvaluateAsync<int>(Overflow);
        var unlabelledAtSignIn = await session.Page.EvaluateAsync<string[]>(Unlabelled);
        await session.SignInAsync(TestCallers.KeyOf(TestCallers.Alice));
        var focused = await session.Page.EvaluateAsync<string>("() => document.activeElement.id");
        var overflowTextToImage = await session.Page.EvaluateAsync<int>(Overflow);
        var unlabelledTextToImage = await session.Page.EvaluateAsync<string[]>(Unlabelled);
        await session.ScreenshotAsync("frontend-375px");

        await session.Page.Locator("#app-select").SelectOptionAsync("image-to-image");
        await session.Field("image").SetInputFilesAsync(new FilePayload { Name = "input.png", MimeType = "image/png", Buffer = TestImages.Png(48, 32) });
        var previewWidth = await session.LoadedImageWidthAsync("img.preview");
        var previewSrc = await session.Page.Locator("img.preview").GetAttributeAsync("src");
        var overflowImageToImage = await session.Page.EvaluateAsync<int>(Overflow);
        var unlabelledImageToImage = await session.Page.EvaluateAsync<string[]>(Unlabelled);
        await session.ScreenshotAsync("frontend-375px-upload-preview");

        Assert.Equal("app-select", focused);
        Assert.Equal(0, overflowAtSignIn);
        Assert.Equal(0, overflowTextToImage);
        Assert.Equal(0, overflowImageToImage);
        Assert.Empty(unlabelledAtSignIn);
        Assert.Empty(unlabelledTextToImage);
        Assert.Empty(unlabelledImageToImage);
        Assert.Equal("image/png,image/jpeg,image/webp", await session.Field("image").GetAttributeAsync("accept"));
        Assert.Equal(48, previewWidth);
        Assert.StartsWith("blob:", previewSrc, StringComparison.Ordinal);
        Assert.Empty(await session.CspViolationsAsync());
    }

    [Theory]
    [InlineData("app/", "text/html")]
    [InlineData("app/app.js", "text/javascript")]
    [InlineData("app/app.css", "text/css")]
    public async Task The_Frontend_Is_Served_With_The_Gateway_Security_Headers_And_Its_Own_Narrow_Policy(string path, string contentType)
    {
        using var client = fixture.Gateway.CreateClient(caller: null);

        using var response = await client.GetAsync(path);
        using var api = await client.GetAsync("apps");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            string.Join(' ', response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join(' ', response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", string.Join(' ', response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", string.Join(' ', response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal(SecurityHeaders.ApiPolicy, string.Join(' ', api.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task The_Frontend_Is_Not_Served_Outside_Development_Unless_Enabled()
    {
        await using var gateway = new GatewayFactory(fixture.Simulator, redis: null);
        using var client = gateway.CreateClient();

        using var response = await client.GetAsync("/app/");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
