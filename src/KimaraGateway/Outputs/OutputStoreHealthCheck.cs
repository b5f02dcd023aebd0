using KimaraGateway.Runs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KimaraGateway.Outputs;

/// <summary>
/// Readiness of the output store in Rehost mode: a spool file can be written (the disk a download lands on) and the store
/// answers a lookup (the folder or the bucket is reachable). Proxy mode stores nothing and is always ready here.
/// </summary>
internal sealed class OutputStoreHealthCheck(IOutputStore store, IOptions<OutputsOptions> options) : IHealthCheck
{
    // A well-formed run id no run can have (ids are random), so the probe never touches a real output.
    private static readonly string ProbeId = "run_" + new string('a', 24);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (options.Value.Mode == OutputMode.Proxy)
        {
            return HealthCheckResult.Healthy("Proxy mode: outputs are not stored.");
        }

        try
        {
            await using (var spool = store.CreateSpool(ProbeId))
            {
                await spool.Stream.WriteAsync(new byte[] { 1 }, cancellationToken);
            }

            await store.FindAsync(ProbeId, cancellationToken);
            return HealthCheckResult.Healthy($"The {options.Value.Store} output store is writable.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy($"The {options.Value.Store} output store is not writable or not reachable ({ex.GetType().Name}).");
        }
    }
}
