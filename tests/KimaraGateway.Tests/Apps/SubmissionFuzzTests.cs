using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CsCheck;
using Kimara.Simulator;
using KimaraGateway.Tests.Infrastructure;

namespace KimaraGateway.Tests.Apps;

/// <summary>A gateway and simulator of its own, so every upstream POST it counts came from the fuzzed submissions.</summary>
public sealed class FuzzFixture : GatewayFixture
{
    protected override bool UseRedis => false;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Warning" };
}

/// <summary>
/// Generated POST /runs bodies, JSON and multipart, valid and hostile: never a 500, invalid ones always a 4xx, and
/// Kimara receives exactly one POST per accepted submission, so none for any refused one.
/// </summary>
public sealed class SubmissionFuzzTests(FuzzFixture fixture) : IClassFixture<FuzzFixture>
{
    private static readonly HttpStatusCode[] Refusals =
        [HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType];

    private static readonly string[] AspectRatios = ["1:1", "16:9", "9:16", "4:3", "3:4"];

    private static readonly string[] Names = ["app_id", "inputs", "prompt", "negative_prompt", "steps", "seed", "aspect_ratio", "image", "strength", "x", ""];

    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[0, 40],
        Gen.Char["a-z [fail]"].Array[0, 30].Select(c => new string(c)),
        Gen.Const("\ud800"),
        Gen.Int[1990, 2010].Select(n => new string('p', n)));

    /// <summary>JSON scalars as text, including the ones that tempt coercion: 20.0, 2e1, "20", -0, 1e400.</summary>
    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[-5, 105].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Double[-2, 2].Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.OneOfConst("20.0", "2e1", "\"20\"", "-0", "1e400", "4294967296", "0.255", "true", "false", "null", "\"\"", "\"1:1\"", "\"data:image/png;base64,AAAA\""),
        Text.Select(Quote));

    private static readonly Gen<string> Json = Gen.Recursive<string>((depth, self) => depth >= 4
        ? Scalar
        : Gen.Frequency(
            (4, Scalar),
            (1, self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
            (2, Gen.Select(Gen.OneOf(Gen.OneOfConst(Names), Gen.String[0, 8]), self).Array[0, 5]
                .Select(members => "{" + string.Join(",", members.Select(m => Quote(m.Item1) + ":" + m.Item2)) + "}"))));

    private static readonly Gen<Case> ValidTextToImage = Gen.Select(
        Gen.Char["a-z "].Array[1, 60].Select(c => new string(c)),
        Gen.Int[1, 100].Nullable(),
        Gen.Long[0, uint.MaxValue].Nullable(),
        Gen.OneOfConst(AspectRatios).Null(0.3),
        (prompt, steps, seed, ratio) =>
        {
            var members = new List<string> { "\"prompt\":" + Quote(prompt) };
            if (steps is { } s) members.Add($"\"steps\":{s}");
            if (seed is { } d) members.Add($"\"seed\":{d}");
            if (ratio is not null) members.Add("\"aspect_ratio\":" + Quote(ratio));
            return new Case(Body("text-to-image", "{" + string.Join(",", members) + "}"), Expect.Accepted);
        });

    /// <summary>A valid text-to-image submission with one thing certainly wrong.</summary>
    private static readonly Gen<Case> InvalidTextToImage = Gen.OneOf(
        Gen.OneOfConst("0", "101", "-1", "20.0", "2e1", "\"20\"", "true", "null", "[]", "{}").Select(v => $"\"steps\":{v}"),
        Gen.OneOfConst("-1", "4294967296", "1.5", "\"7\"").Select(v => $"\"seed\":{v}"),
        Gen.OneOfConst("\"2:1\"", "\"1:1 \"", "1", "null").Select(v => $"\"aspect_ratio\":{v}"),
        Gen.Select(Gen.Char["a-z"].Array[1, 10].Select(c => new string(c)), Scalar).Where(p => !Names.Contains(p.Item1)).Select(p => $"{Quote(p.Item1)}:{p.Item2}"))
        .Select(wrong => new Case(Body("text-to-image", "{\"prompt\":\"a cat\"," + wrong + "}"), Expect.Invalid));

    private static readonly Gen<Case> JsonCases = Gen.Frequency(
        (1, ValidTextToImage),
        (6, InvalidTextToImage),
        (6, Gen.Select(Gen.OneOfConst("text-to-image", "image-to-image", "upscaler", "nope"), Json).Select(p => new Case(Body(p.Item1, p.Item2), Expect.Anything))),
        (3, Json.Select(body => new Case(body, Expect.Anything))),
        (1, Gen.Char.Array[0, 60].Select(c => new Case(new string(c), Expect.Anything))));

    private static readonly Gen<byte[]> FileBytes = Gen.OneOf(
        Gen.Int[1, 64].SelectMany(w => Gen.Int[1, 64].Select(h => TestImages.Png(w, h))),
        Gen.Int[1, 4000].Select(w => TestImages.Jpeg(w, 8)),
        Gen.Int[1, 9000].Select(h => TestImages.WebP(8, h)),
        Gen.Int[0, 80].Select(n => TestImages.Truncated(TestImages.Png(16, 16), n)),
        Gen.Const(TestImages.Executable()),
        Gen.Byte.Array[0, 300]);

    private static readonly Gen<Part> Parts = Gen.Frequency(
        (3, Gen.Select(Gen.OneOfConst(Names), Gen.OneOf(Text, Scalar)).Select(p => new Part(p.Item1, p.Item2, null))),
        (2, Gen.Select(Gen.OneOfConst("image", "image", "prompt", "app_id", "y"), FileBytes).Select(p => new Part(p.Item1, null, p.Item2))));

    private static readonly Gen<MultipartCase> MultipartCases = Gen.Frequency(
        (2, Gen.Select(Gen.OneOfConst("image-to-image", "upscaler", "text-to-image", "nope", ""), Parts.Array[0, 5])
            .Select(p => new MultipartCase([new Part("app_id", p.Item1, null), .. p.Item2], Expect.Anything))),
        (1, Parts.Array[0, 6].Select(p => new MultipartCase(p, Expect.Anything))),
        (1, Gen.Select(Gen.Int[1, 64], Gen.Int[0, 100]).Select(p => new MultipartCase(
            [new Part("app_id", "image-to-image", null), new Part("image", null, TestImages.Png(p.Item1, 8)),
                new Part("strength", (p.Item2 / 100m).ToString(CultureInfo.InvariantCulture), null)], Expect.Accepted))));

    private enum Expect
    {
        Anything,
        Accepted,
        Invalid,
    }

    [Fact]
    public async Task Generated_Json_Bodies_Never_Cause_A_500_And_Only_Accepted_Ones_Reach_Kimara()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var tally = new Tally();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        await JsonCases.SampleAsync(async c =>
        {
            using var content = new StringContent(c.Body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync("/runs", content);
            await tally.CheckAsync(response, c.Expect, c.Body);
        }, iter: 3000, threads: 4, print: c => c.Body.Length > 400 ? c.Body[..400] : c.Body);

        Assert.Equal(postsBefore + tally.Accepted, await fixture.Upstream.PostCountAsync());
        Assert.True(tally.Accepted > 0 && tally.Refused > 0, tally.ToString());
    }

    [Fact]
    public async Task Generated_Multipart_Bodies_Never_Cause_A_500_And_Only_Accepted_Ones_Reach_Kimara()
    {
        using var client = fixture.Gateway.CreateCallerClient();
        var tally = new Tally();
        var postsBefore = await fixture.Upstream.PostCountAsync();

        await MultipartCases.SampleAsync(async c =>
        {
            using var form = new MultipartFormDataContent();
            foreach (var part in c.Parts)
            {
                if (part.File is { } bytes)
                {
                    var file = new ByteArrayContent(bytes);
                    file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    form.Add(file, part.Name.Length == 0 ? "\"\"" : part.Name, "f.bin");
                }
                else
                {
                    form.Add(new StringContent(part.Value!), part.Name.Length == 0 ? "\"\"" : part.Name);
                }
            }

            using var response = await client.PostAsync("/runs", form);
            await tally.CheckAsync(response, c.Expect, c.ToString());
        }, iter: 1500, threads: 4);

        Assert.Equal(postsBefore + tally.Accepted, await fixture.Upstream.PostCountAsync());
        Assert.True(tally.Accepted > 0 && tally.Refused > 0, tally.ToString());
    }

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    private static string Body(string appId, string inputs) => $"{{\"app_id\":{Quote(appId)},\"inputs\":{inputs}}}";

    private sealed record Case(string Body, Expect Expect);

    private sealed record Part(string Name, string? Value, byte[]? File)
    {
        public override string ToString() => File is null ? $"{Name}={Value}" : $"{Name}=<{File.Length} bytes>";
    }

    private sealed record MultipartCase(Part[] Parts, Expect Expect)
    {
        public override string ToString() => $"{Expect}: " + string.Join(" & ", Parts.Select(p => p.ToString()));
    }

    private sealed class Tally
    {
        private int _accepted;
        private int _refused;

        public int Accepted => _accepted;

        public int Refused => _refused;

        public ConcurrentDictionary<HttpStatusCode, int> Statuses { get; } = new();

        public async Task CheckAsync(HttpResponseMessage response, Expect expect, string input)
        {
            Statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                Interlocked.Increment(ref _accepted);
                Assert.True(expect != Expect.Invalid, $"Accepted an invalid submission: {input}");
                return;
            }

            Interlocked.Increment(ref _refused);
            Assert.True(Refusals.Contains(response.StatusCode), $"{(int)response.StatusCode} for {input}: {body}");
            Assert.True(expect != Expect.Accepted, $"Refused a valid submission ({(int)response.StatusCode} {body}): {input}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        public override string ToString() => string.Join(", ", Statuses.Select(s => $"{(int)s.Key}: {s.Value}"));
    }
}
