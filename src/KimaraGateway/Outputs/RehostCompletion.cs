using System.Buffers;
using System.Net;
using Amazon.Runtime;
using System.Security.Cryptography;
using KimaraGateway.Hosting;
using KimaraGateway.Runs;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>
/// Re-host mode: downloads the output Kimara produced, streamed through a SHA-256 into a spool of the output store, commits
/// it atomically and only then reports the run completed. Transient failures leave the run in stage Rehosting, so the next
/// poll, on whichever replica, tries again; permanent ones fail the run with <c>output_unavailable</c>.
/// </summary>
public sealed partial class RehostCompletion(
    OutputFetcher fetcher,
    IOutputStore store,
    TimeProvider time,
    IOptions<OutputsOptions> options,
    GatewayMetrics metrics,
    ILogger<RehostCompletion> logger) : IRunCompletion
{
    private const int BufferSize = 1 << 17;

    public async Task<RunRecord> CompleteAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!Uri.TryCreate(run.UpstreamOutputUrl, UriKind.Absolute, out var url))
        {
            return Fail(run, Failures.Refused(FetchReasons.MissingUrl, "No absolute output URL in Kimara's answer."), o);
        }

        OutputInfo? stored;
        FetchFailure? failure;
        try
        {
            // Another replica may have stored it and died before recording the run completed.
            (stored, failure) = await store.FindAsync(run.Id, cancellationToken) is { } found
                ? (found, null)
                : await DownloadAsync(run, url, o, cancellationToken);
        }
        catch (Exception ex) when (ex is AmazonServiceException or UnauthorizedAccessException && !cancellationToken.IsCancellationRequested)
        {
            (stored, failure) = (null, new FetchFailure(FetchReasons.StoreFailed, $"The output store failed: {ex.Message}", Permanent: false));
            LogFetchFailed(logger, run.Id, failure.Reason, failure.Permanent, failure.Detail);
        }

        if (stored is not null)
        {
            LogRehosted(logger, run.Id, stored.Bytes, stored.ContentType);
            return run.Advance(RunStatus.Completed, time.GetUtcNow()) with { Stage = RunStage.Done, Output = stored };
        }

        var giveUp = time.GetUtcNow() - (run.LastPolledAt ?? run.UpdatedAt) > o.GiveUpAfter;
        return failure!.Permanent || giveUp ? Fail(run, failure, o) : run;
    }

    private async Task<(OutputInfo? Info, FetchFailure? Failure)> DownloadAsync(RunRecord run, Uri url, OutputsOptions o, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(o.FetchTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        FetchFailure failure;
        try
        {
            var fetched = await fetcher.GetAsync(url, null, linked.Token);
            if (fetched.Response is not { } response)
            {
                failure = fetched.Failure!;
            }
            else
            {
                using (response)
                {
                    // No Range or conditional was sent: anything but the whole body (a 206, a 304) is not the output.
                    var (info, copyFailure) = response.StatusCode == HttpStatusCode.OK
                        ? await CopyToStoreAsync(run.Id, response, o, linked.Token)
                        : (null, new FetchFailure(FetchReasons.UnexpectedStatus, $"The output URL answered {(int)response.StatusCode} instead of 200.", Permanent: true));
                    if (info is not null)
                    {
                        return (info, null);
                    }

                    failure = copyFailure!;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException
            && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failure = new FetchFailure(FetchReasons.Timeout, $"The download did not finish within Outputs:FetchTimeout ({o.FetchTimeout}).", Permanent: true);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            failure = new FetchFailure(FetchReasons.Truncated, $"The download broke off: {ex.Message}", Permanent: false);
        }

        LogFetchFailed(logger, run.Id, failure.Reason, failure.Permanent, failure.Detail);
        return (null, failure);
    }

    private async Task<(OutputInfo? Info, FetchFailure? Failure)> CopyToStoreAsync(
        string runId, HttpResponseMessage response, OutputsOptions o, CancellationToken cancellationToken)
    {
        await using var spool = store.CreateSpool(runId);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > o.MaxBytes)
                {
                    return (null, Failures.TooLarge(o.MaxBytes));
                }

                hash.AppendData(buffer, 0, read);
                await spool.Stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (response.Content.Headers.ContentLength is { } declared && declared != total)
        {
            return (null, new FetchFailure(FetchReasons.Truncated, $"Received {total} of {declared} bytes.", Permanent: false));
        }

        var info = new OutputInfo(response.Content.Headers.ContentType!.MediaType!, total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        await store.CommitAsync(runId, spool, info, cancellationToken);
        metrics.RehostBytes(total);
        return (info, null);
    }

    private RunRecord Fail(RunRecord run, FetchFailure failure, OutputsOptions o)
    {
        LogGaveUp(logger, run.Id, failure.Reason);
        metrics.RehostFailed(failure.Reason);
        return run.Fail(RunErrorCodes.OutputUnavailable, Failures.ForCaller(failure, o), time.GetUtcNow());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: output re-hosted ({Bytes} bytes, {ContentType})")]
    private static partial void LogRehosted(ILogger logger, string runId, long bytes, string contentType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} failed: its output could not be re-hosted ({Reason})")]
    private static partial void LogGaveUp(ILogger logger, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: output fetch failed ({Reason}, permanent: {Permanent}): {Detail}")]
    private static partial void LogFetchFailed(ILogger logger, string runId, string reason, bool permanent, string detail);
}
