using System.Net;
using System.Text.RegularExpressions;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KimaraGateway.Tests.Hosting;

/// <summary>
/// Swagger UI in a real browser (Debian's chromium, driven by Playwright; no browser download) against the gateway on
/// real Kestrel: authorize with a gateway key, submit a run with "Try it out", see the 202. A screenshot of the result
/// is written to <see cref="HeadlessChromium.ArtifactsFolder"/>.
/// </summary>
public sealed partial class SwaggerUiBrowserTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Swagger_Ui_Authorizes_With_A_Key_And_Submits_A_Run_With_Try_It_Out()
    {
        await using var gateway = KestrelGateway.Start(fixture.Simulator, redis: null);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };

        string status;
        string body;
        try
        {
            await page.GotoAsync(new Uri(gateway.Address, "/swagger/index.html").ToString());
            await page.Locator(".auth-wrapper .authorize").ClickAsync();
            var bearer = page.Locator(".auth-container").Filter(new LocatorFilterOptions { Has = page.Locator("h4", new PageLocatorOptions { HasTextString = "Bearer" }) });
            await bearer.Locator("input").FillAsync(TestCallers.KeyOf(TestCallers.Alice));
            await bearer.Locator("button.authorize").ClickAsync();
            await bearer.GetByText("Authorized", new LocatorGetByTextOptions { Exact = true }).WaitForAsync();
            await page.Locator(".modal-ux .close-modal").ClickAsync();

            var operation = page.Locator("#operations-Runs-SubmitRun");
            await operation.Locator(".opblock-summary").ClickAsync();
            await operation.Locator("textarea.body-param__text").FillAsync("""{ "app_id": "text-to-image", "inputs": { "prompt": "a lighthouse at dawn" } }""");
            await operation.Locator("button.execute").ClickAsync();
            var statusCell = operation.Locator(".live-responses-table tr.response .response-col_status").First;
            await statusCell.WaitForAsync();
            await operation.Locator(".live-responses-table").ScrollIntoViewIfNeededAsync();
            status = (await statusCell.InnerTextAsync()).Trim();
            body = await operation.Locator(".live-responses-table tr.response .response-col_description pre").First.InnerTextAsync();
        }
        finally
        {
            Directory.CreateDirectory(HeadlessChromium.ArtifactsFolder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(HeadlessChromium.ArtifactsFolder, "swagger-ui-submit-run.png") });
        }

        var id = RunId().Match(body).Groups["id"].Value;
        using var client = gateway.CreateClient();
        using var run = await client.GetAsync($"/runs/{id}");

        Assert.StartsWith("202", status, StringComparison.Ordinal);
        Assert.NotEmpty(id);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        Assert.DoesNotContain(consoleErrors, e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(fixture.Simulator.ApiKey, await page.ContentAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("\"id\"\\s*:\\s*\"(?<id>[^\"]+)\"")]
    private static partial Regex RunId();
}
