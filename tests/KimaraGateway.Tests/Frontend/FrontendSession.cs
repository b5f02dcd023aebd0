using Microsoft.Playwright;

namespace KimaraGateway.Tests.Frontend;

/// <summary>
/// One browser context on the reference client (<c>&lt;base&gt;/app/</c>), recording every Content-Security-Policy violation
/// the page reports and every console error, with the steps a person takes: sign in, fill the form, submit, wait.
/// </summary>
public sealed class FrontendSession : IAsyncDisposable
{
    // Runs before the client's own script; the listener sees every violation, including ones the console might not show.
    private const string RecordViolations = """
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
        """;

    private readonly IBrowserContext _context;

    private FrontendSession(IBrowserContext context, IPage page, Uri appUrl)
    {
        _context = context;
        Page = page;
        AppUrl = appUrl;
    }

    public IPage Page { get; }

    public Uri AppUrl { get; }

    public List<string> ConsoleErrors { get; } = [];

    /// <summary>The gateway's responses to the page that were not successful (a favicon aside), as "status url".</summary>
    public List<string> FailedResponses { get; } = [];

    public static async Task<FrontendSession> OpenAsync(IBrowser browser, Uri gatewayBase, int width = 1280, int height = 900)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(30_000);
        await context.AddInitScriptAsync(RecordViolations);
        var page = await context.NewPageAsync();
        var session = new FrontendSession(context, page, new Uri(gatewayBase, "app/"));
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                session.ConsoleErrors.Add(message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && !response.Url.EndsWith("/favicon.ico", StringComparison.Ordinal))
            {
                session.FailedResponses.Add($"{response.Status} {response.Url}");
            }
        };
        await page.GotoAsync(session.AppUrl.ToString());
        return session;
    }

    public ILocator Field(string name) => Page.Locator($"#field-{name}");

    public ILocator FieldError(string name) => Page.Locator($"#field-{name}-error");

    public ILocator Status => Page.Locator("#status");

    /// <summary>Types the key and presses Enter (the keyboard path), then waits for the chosen App's form.</summary>
    public async Task SignInAsync(string key)
    {
        await Page.Locator("#credential").FillAsync(key);
        await Page.Locator("#credential").PressAsync("Enter");
        await Assertions.Expect(Page.Locator("#workspace")).ToBeVisibleAsync();
        await Assertions.Expect(Page.Locator("#fields input, #fields select, #fields textarea").First).ToBeVisibleAsync();
    }

    /// <summary>Waits for the status to become <paramref name="status"/> and returns the run id the page shows.</summary>
    public async Task<string> WaitForStatusAsync(string status)
    {
        await Assertions.Expect(Status).ToHaveTextAsync(status, new LocatorAssertionsToHaveTextOptions { Timeout = 30_000 });
        return (await Page.Locator("#run-id").InnerTextAsync()).Trim();
    }

    /// <summary>The statuses the page showed for the current run, in order.</summary>
    public async Task<IReadOnlyList<string>> ProgressAsync() => [.. (await Page.Locator("#progress li").AllInnerTextsAsync()).Select(s => s.Trim())];

    /// <summary>Waits until the image loaded and returns its natural width (0 would be a broken image).</summary>
    public async Task<int> LoadedImageWidthAsync(string selector)
    {
        await Page.WaitForFunctionAsync("(s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }", selector);
        return await Page.EvaluateAsync<int>("(s) => document.querySelector(s).naturalWidth", selector);
    }

    public async Task<IReadOnlyList<string>> CspViolationsAsync()
    {
        var violations = await Page.EvaluateAsync<string[]>("() => window.__cspViolations");
        return [.. violations, .. ConsoleErrors.Where(e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))];
    }

    public Task ScreenshotAsync(string name) => Infrastructure.HeadlessChromium.ScreenshotAsync(Page, name);

    public ValueTask DisposeAsync() => _context.DisposeAsync();
}
