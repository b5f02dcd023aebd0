using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Tests.Outputs;

public sealed class SignedLinkGatewayFixture : OutputsGatewayFixture
{
    public const string CurrentKey = "current-link-key-0123456789abcdef0123";
    public const string InGraceKey = "rotated-in-grace-0123456789abcdef0123";
    public const string RetiredKey = "rotated-retired-0123456789abcdef01234";
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Outputs:Links:SigningKey"] = CurrentKey,
        ["Outputs:Links:Lifetime"] = Lifetime.ToString(),
        ["Outputs:Links:PreviousKeys:0:Key"] = InGraceKey,
        ["Outputs:Links:PreviousKeys:0:AcceptUntil"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O"),
        ["Outputs:Links:PreviousKeys:1:Key"] = RetiredKey,
        ["Outputs:Links:PreviousKeys:1:AcceptUntil"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
    });
}

/// <summary>The run's output_url: signed over run id and expiry, refused when altered, expired or signed with a retired key.</summary>
public sealed class SignedLinkTests(SignedLinkGatewayFixture fixture) : IClassFixture<SignedLinkGatewayFixture>
{
    private readonly HttpClient _alice = fixture.Gateway.CreateCallerClient();
    private readonly HttpClient _anonymous = fixture.Gateway.CreateCallerClient(caller: null);

    [Fact]
    public async Task Every_Read_Of_The_Run_Issues_A_Link_Valid_For_The_Configured_Lifetime()
    {
        var id = (await OutputTestKit.CompleteRunAsync(_alice, "link fresh " + Guid.NewGuid()))["id"]!.GetValue<string>();
        var before = DateTimeOffset.UtcNow;

        var link = new Uri((await _alice.GetRunAsync(id))["output_url"]!.GetValue<string>());

        var expires = DateTimeOffset.FromUnixTimeSeconds(long.Parse(QueryHelpers.ParseQuery(link.Query)["expires"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal($"/outputs/{id}", link.AbsolutePath);
        // Rounded up to a step of a sixtieth of the lifetime (OutputLinksTests).
        Assert.InRange(expires, before + SignedLinkGatewayFixture.Lifetime - TimeSpan.FromSeconds(1), DateTimeOffset.UtcNow + SignedLinkGatewayFixture.Lifetime + (SignedLinkGatewayFixture.Lifetime / 60));
    }

    [Fact]
    public async Task A_Tampered_Signature_Or_Extended_Expiry_Is_403()
    {
        var run = await OutputTestKit.CompleteRunAsync(_alice, "link tamper " + Guid.NewGuid());
        var link = run["output_url"]!.GetValue<string>();
        var query = QueryHelpers.ParseQuery(new Uri(link).Query);
        var sig = query["sig"].ToString();
        var flipped = link.Replace(sig, (sig[0] == 'A' ? 'B' : 'A') + sig[1..], StringComparison.Ordinal);
        var extended = link.Replace($"expires={query["expires"]}", $"expires={long.Parse(query["expires"]!, System.Globalization.CultureInfo.InvariantCulture) + 86_400}", StringComparison.Ordinal);

        await AssertProblemAsync(flipped, HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
        await AssertProblemAsync(extended, HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
        await AssertProblemAsync(link.Split('?')[0], HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
    }

    [Fact]
    public async Task A_Link_Minted_For_One_Run_Does_Not_Open_Another()
    {
        var first = await OutputTestKit.CompleteRunAsync(_alice, "link first " + Guid.NewGuid());
        var second = await OutputTestKit.CompleteRunAsync(_alice, "link second " + Guid.NewGuid());

        var moved = first["output_url"]!.GetValue<string>().Replace(first["id"]!.GetValue<string>(), second["id"]!.GetValue<string>(), StringComparison.Ordinal);

        await AssertProblemAsync(moved, HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
    }

    [Fact]
    public async Task An_Expired_Link_Is_403_And_Says_So()
    {
        var id = (await OutputTestKit.CompleteRunAsync(_alice, "link expired " + Guid.NewGuid()))["id"]!.GetValue<string>();
        var links = fixture.Gateway.Services.GetRequiredService<OutputLinks>();

        await AssertProblemAsync(links.SignedPath(id, DateTimeOffset.UtcNow.AddSeconds(-5)), HttpStatusCode.Forbidden, OutputsApi.LinkExpired);
    }

    [Fact]
    public async Task A_Validly_Signed_Link_To_A_Run_That_Does_Not_Exist_Is_404()
    {
        var links = fixture.Gateway.Services.GetRequiredService<OutputLinks>();

        await AssertProblemAsync(links.SignedPath(RunIds.New(), DateTimeOffset.UtcNow.AddMinutes(5)), HttpStatusCode.NotFound, Problems.RunNotFound);
    }

    [Fact]
    public async Task Links_Signed_With_A_Rotated_Key_Work_During_Its_Grace_Period_Only()
    {
        var id = (await OutputTestKit.CompleteRunAsync(_alice, "link rotation " + Guid.NewGuid()))["id"]!.GetValue<string>();
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);

        var inGrace = MintWith(SignedLinkGatewayFixture.InGraceKey).SignedPath(id, expires);
        var retired = MintWith(SignedLinkGatewayFixture.RetiredKey).SignedPath(id, expires);
        var foreign = MintWith("some-other-gateways-key-0123456789abcdef").SignedPath(id, expires);

        using var accepted = await _anonymous.GetAsync(inGrace);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        await AssertProblemAsync(retired, HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
        await AssertProblemAsync(foreign, HttpStatusCode.Forbidden, OutputsApi.LinkInvalid);
    }

    private static OutputLinks MintWith(string key) => new(
        TimeProvider.System,
        Options.Create(new OutputsOptions { Links = { SigningKey = key } }),
        NullLogger<OutputLinks>.Instance);

    private async Task AssertProblemAsync(string url, HttpStatusCode status, string code)
    {
        using var response = await _anonymous.GetAsync(url);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
    }
}
