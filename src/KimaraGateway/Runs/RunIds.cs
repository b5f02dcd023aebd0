using System.Buffers;
using System.Security.Cryptography;

namespace KimaraGateway.Runs;

/// <summary>Gateway run ids: 120 random bits, so an id cannot be guessed from another.</summary>
public static class RunIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private const string Prefix = "run_";
    private const int RandomChars = 24;
    private static readonly SearchValues<char> AlphabetChars = SearchValues.Create(Alphabet);

    public static string New() => Prefix + RandomNumberGenerator.GetString(Alphabet, RandomChars);

    /// <summary>True for a string that could be a gateway run id; anything else is answered 404 without a lookup.</summary>
    public static bool IsWellFormed(string? id) =>
        id?.Length == Prefix.Length + RandomChars
        && id.StartsWith(Prefix, StringComparison.Ordinal)
        && id.AsSpan(Prefix.Length).IndexOfAnyExcept(AlphabetChars) < 0;
}
