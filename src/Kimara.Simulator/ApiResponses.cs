using Microsoft.AspNetCore.Http.HttpResults;

namespace Kimara.Simulator;

/// <summary>Kimara's error body: a stable code, a message and, for invalid inputs, one problem per field.</summary>
internal sealed record ErrorResponse(string Error, string Message, IReadOnlyDictionary<string, string>? Details = null);

internal static class ApiResponses
{
    public static JsonHttpResult<ErrorResponse> Error(int status, string error, string message,
        IReadOnlyDictionary<string, string>? details = null) =>
        TypedResults.Json(new ErrorResponse(error, message, details), statusCode: status);

    /// <summary>True when the request carries <c>Authorization: Bearer {ApiKey}</c>.</summary>
    public static bool HasApiKey(HttpRequest request, SimulatorOptions options)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var given = System.Text.Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        var expected = System.Text.Encoding.UTF8.GetBytes(options.ApiKey);
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(given, expected);
    }

    public static JsonHttpResult<ErrorResponse> InvalidApiKey() =>
        Error(StatusCodes.Status401Unauthorized, "invalid_api_key", "A valid 'Authorization: Bearer <key>' header is required.");
}
