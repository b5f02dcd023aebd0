using Microsoft.Playwright;

namespace KimaraGateway.Tests.Infrastructure;

/// <summary>Debian's chromium driven by Playwright (no browser download), and where browser tests put their screenshots.</summary>
public static class HeadlessChromium
{
    public const string Executable = "/usr/bin/chromium";

    /// <summary><c>TEST_ARTIFACTS</c> when set (CI collects it), else <c>artifacts/</c> beside the test binaries.</summary>
    public static string ArtifactsFolder =>
        Environment.GetEnvironmentVariable("TEST_ARTIFACTS") is { Length: > 0 } folder ? folder : Path.Combine(AppContext.BaseDirectory, "artifacts");

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(Executable), "Debian chromium is required: apt-get install -y --no-install-recommends chromium");
        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    /// <summary>Writes a full-page screenshot named <paramref name="name"/>.png into <see cref="ArtifactsFolder"/>.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ArtifactsFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsFolder, name + ".png"), FullPage = true });
    }
}
