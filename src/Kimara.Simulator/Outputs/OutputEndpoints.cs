using System.Globalization;
using Kimara.Simulator.Apps;
using Kimara.Simulator.Runs;

namespace Kimara.Simulator.Outputs;

/// <summary>The CDN that serves <c>output_url</c>: signed, time-limited, no Bearer key.</summary>
internal static class OutputEndpoints
{
    private const int DripChunk = 16 * 1024;

    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cdn/outputs/{runId}.png", GetOutput)
            .WithName("GetOutput")
            .WithMetadata(new SimRoute(SimulatorState.OutputRoute, "output", "runId"));
        return app;
    }

    private static IResult GetOutput(
        string runId, string? expires, string? sig,
        SimulatorOptions options, SimulatorState state, OutputSigner signer, TimeProvider time)
    {
        var faults = options.Faults;
        if (faults.OutputRedirectTo is { Length: > 0 } redirect)
            return TypedResults.Redirect(redirect);
        if (!state.TryGet(runId, out var run))
            return ApiResponses.Error(StatusCodes.Status404NotFound, "not_found", $"No output for '{runId}'.");
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt)
            || !signer.IsValid(runId, expiresAt, sig))
            return ApiResponses.Error(StatusCodes.Status403Forbidden, "invalid_signature", "The link signature is missing or wrong.");
        if (time.GetUtcNow() > DateTimeOffset.FromUnixTimeSeconds(expiresAt))
            return ApiResponses.Error(StatusCodes.Status403Forbidden, "expired", "The link has expired.");

        var image = options.OutputBytes > 0
            ? PngImage.Sized(run.Seed, options.OutputBytes)
            : PngImage.Natural(run.Seed, AppCatalog.OutputSize(run.AppId, run.Inputs).Width, AppCatalog.OutputSize(run.AppId, run.Inputs).Height);
        return new PngResult(image, faults);
    }

    /// <summary>Streams the PNG, applying the CDN faults (slow drip, mid-body reset, wrong content type).</summary>
    private sealed class PngResult(PngImage image, FaultOptions faults) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = faults.OutputContentType ?? "image/png";
            response.ContentLength = image.Length;
            response.Headers.CacheControl = "private, max-age=60";

            var abortAt = faults.ResetOutputMidway ? image.Length / 2 : long.MaxValue;
            var drip = faults.OutputDripDelayMs;
            long sent = 0;
            var aborted = httpContext.RequestAborted;

            async ValueTask Send(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
            {
                if (drip <= 0 && sent + bytes.Length < abortAt)
                {
                    await response.Body.WriteAsync(bytes, cancellationToken);
                    sent += bytes.Length;
                    return;
                }

                while (!bytes.IsEmpty)
                {
                    var piece = bytes[..Math.Min(DripChunk, bytes.Length)];
                    if (sent + piece.Length >= abortAt)
                    {
                        await response.Body.WriteAsync(piece[..(int)(abortAt - sent)], cancellationToken);
                        await response.Body.FlushAsync(cancellationToken);
                        httpContext.Abort();
                        throw new OperationCanceledException("Simulated reset in the middle of the output.");
                    }

                    await response.Body.WriteAsync(piece, cancellationToken);
                    sent += piece.Length;
                    bytes = bytes[piece.Length..];
                    if (drip > 0)
                    {
                        await response.Body.FlushAsync(cancellationToken);
                        await Task.Delay(drip, cancellationToken);
                    }
                }
            }

            try
            {
                await image.WriteToAsync(Send, aborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
                // The client went away (or we dropped it on purpose); there is no one left to answer.
                httpContext.Abort();
            }
        }
    }
}
