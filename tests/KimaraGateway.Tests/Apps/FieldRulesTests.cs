using System.Text.Json.Nodes;
using KimaraGateway.Apps;

namespace KimaraGateway.Tests.Apps;

/// <summary>
/// Every field type's rules, table-driven: each bound on both sides, wrong JSON types (no coercion), missing and extra
/// fields. Uses a catalogue App with one field of each type, validated by the rules the gateway builds from it.
/// </summary>
public sealed class FieldRulesTests
{
    private const int PictureMaxBytes = 3000;

    private static readonly CatalogueEntry AllTypes = BuildAllTypes();

    public static TheoryData<string, string, bool> Values => new()
    {
        // text: 2..5 characters of [a-z]
        { "title", "\"ab\"", true },
        { "title", "\"a\"", false },
        { "title", "\"abcde\"", true },
        { "title", "\"abcdef\"", false },
        { "title", "\"ABC\"", false },
        { "title", "\"abc\\n\"", false },
        { "title", "12", false },
        { "title", "null", false },
        { "title", "[\"abc\"]", false },
        // integer: 2..10, multiples of 2
        { "count", "2", true },
        { "count", "0", false },
        { "count", "10", true },
        { "count", "12", false },
        { "count", "3", false },
        { "count", "\"4\"", false },
        { "count", "4.0", false },
        { "count", "4e0", false },
        { "count", "true", false },
        { "count", "null", false },
        { "count", "9223372036854775808", false },
        // number: 0.5..2.5, multiples of 0.5
        { "ratio", "0.5", true },
        { "ratio", "0.49", false },
        { "ratio", "2.5", true },
        { "ratio", "2.51", false },
        { "ratio", "0.75", false },
        { "ratio", "1", true },
        { "ratio", "1e0", true },
        { "ratio", "\"1.5\"", false },
        { "ratio", "false", false },
        // boolean
        { "flag", "true", true },
        { "flag", "false", true },
        { "flag", "\"true\"", false },
        { "flag", "1", false },
        { "flag", "null", false },
        // enum
        { "mode", "\"fast\"", true },
        { "mode", "\"slow\"", true },
        { "mode", "\"FAST\"", false },
        { "mode", "\"\"", false },
        { "mode", "1", false },
        // seed: Kimara's range 0..4294967295
        { "seed", "0", true },
        { "seed", "-1", false },
        { "seed", "4294967295", true },
        { "seed", "4294967296", false },
        { "seed", "\"7\"", false },
        { "seed", "1.5", false },
        // image: PNG or WebP, at most 64×32 pixels and 3000 bytes
        { "picture", Image(TestImages.Png(64, 32)), true },
        { "picture", Image(TestImages.Png(65, 32)), false },
        { "picture", Image(TestImages.Png(64, 33)), false },
        { "picture", Image(TestImages.Png(4, 4, exactBytes: PictureMaxBytes)), true },
        { "picture", Image(TestImages.Png(4, 4, exactBytes: PictureMaxBytes + 1)), false },
        { "picture", Image(TestImages.WebP(64, 32)), true },
        { "picture", Image(TestImages.WebP(64, 33)), false },
        { "picture", Image(TestImages.Jpeg(8, 8), "image/jpeg"), false },
        { "picture", Image(TestImages.Executable()), false },
        { "picture", Image(TestImages.Truncated(TestImages.Png(8, 8), 40)), false },
        { "picture", "\"data:image/png;base64,!!!!\"", false },
        { "picture", "\"https://example.com/cat.png\"", false },
        { "picture", "42", false },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Each_Field_Type_Accepts_Its_Bounds_And_Refuses_What_Lies_Past_Them_Or_Has_The_Wrong_Json_Type(string field, string json, bool valid)
    {
        var inputs = new JsonObject { ["title"] = "abc", [field] = JsonNode.Parse(json) };

        var errors = Validate(inputs);

        if (valid)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Equal(["inputs." + field], errors.Keys);
            Assert.All(errors.Values.SelectMany(m => m), m => Assert.StartsWith("inputs." + field, m, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_Missing_Required_Field_Is_Named()
    {
        var errors = Validate([]);

        Assert.Equal(["inputs.title"], errors.Keys);
        Assert.Equal("inputs.title is required.", Assert.Single(errors["inputs.title"]));
    }

    [Fact]
    public void An_Unknown_Field_Is_Rejected_Not_Dropped()
    {
        var errors = Validate(new JsonObject { ["title"] = "abc", ["sampler"] = "euler" });

        Assert.Equal(["inputs.sampler"], errors.Keys);
    }

    [Fact]
    public void Every_Violation_Is_Reported_At_Once()
    {
        var errors = Validate(new JsonObject { ["count"] = "4", ["ratio"] = 9, ["mode"] = "medium", ["extra"] = true });

        Assert.Equal(["inputs.count", "inputs.extra", "inputs.mode", "inputs.ratio", "inputs.title"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Messages_Say_What_Was_Expected_And_What_Came()
    {
        var errors = Validate(new JsonObject { ["title"] = "abc", ["count"] = JsonNode.Parse("4.0") });

        Assert.Equal("inputs.count must be an integer between 2 and 10; got a number (4.0).", Assert.Single(errors["inputs.count"]));
    }

    private static string Image(byte[] bytes, string type = "image/png") => $"\"{TestImages.DataUri(bytes, type)}\"";

    private static Dictionary<string, string[]> Validate(JsonObject inputs) =>
        new(AllTypes.Validator.Validate(new AppInputs(inputs)).ToDictionary());

    private static CatalogueEntry BuildAllTypes()
    {
        var options = new AppsOptions
        {
            Catalogue =
            [
                new AppOptions
                {
                    Id = "all-types",
                    Fields =
                    [
                        new() { Name = "title", Type = "text", Required = true, MinLength = 2, MaxLength = 5, Pattern = "[a-z]+", Example = "abc" },
                        new() { Name = "count", Type = "integer", Min = 2, Max = 10, Step = 2, Default = "4" },
                        new() { Name = "ratio", Type = "number", Min = 0.5m, Max = 2.5m, Step = 0.5m, Default = "1.5" },
                        new() { Name = "flag", Type = "boolean", Default = "false" },
                        new() { Name = "mode", Type = "enum", Values = ["fast", "slow"], Default = "fast" },
                        new() { Name = "seed", Type = "seed" },
                        new() { Name = "picture", Type = "image", ContentTypes = ["image/png", "image/webp"], MaxBytes = PictureMaxBytes, MaxWidth = 64, MaxHeight = 32 },
                    ],
                },
            ],
        };
        var (snapshot, errors) = CatalogueSnapshot.Build(options);
        Assert.Empty(errors);
        return snapshot!.Apps["all-types"];
    }
}
