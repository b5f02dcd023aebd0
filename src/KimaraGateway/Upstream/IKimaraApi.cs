using Refit;

namespace KimaraGateway.Upstream;

/// <summary>Kimara's REST API. The key is added by <see cref="KimaraAuthHandler"/>, never by a caller.</summary>
public interface IKimaraApi
{
    [Post("/runs")]
    Task<IApiResponse<KimaraRun>> SubmitRunAsync([Body] KimaraSubmitRequest request, CancellationToken cancellationToken);

    [Get("/runs/{id}")]
    Task<IApiResponse<KimaraRun>> GetRunAsync(string id, CancellationToken cancellationToken);
}
