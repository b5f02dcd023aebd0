using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kimara.Simulator.Outputs;

/// <summary>Signs output links like a CDN: HMAC-SHA256 over "runId:expires" with a secret that lives as long as the process.</summary>
internal sealed class OutputSigner
{
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    public string Sign(string runId, long expires) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{runId}:{expires}"))));

    public bool IsValid(string runId, long expires, string? signature)
    {
        if (signature is null || signature.Length != 64)
            return false;
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, Convert.FromHexString(Sign(runId, expires)));
    }

    public string OutputUrl(string baseUrl, string runId, long expires) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{baseUrl.TrimEnd('/')}/cdn/outputs/{runId}.png?expires={expires}&sig={Sign(runId, expires)}");
}
