namespace KimaraGateway.Hosting;

/// <summary>The <c>Swagger</c> configuration section.</summary>
public sealed class SwaggerUiOptions
{
    public const string SectionName = "Swagger";

    /// <summary>
    /// Serve the OpenAPI document at <c>/swagger/v1/swagger.json</c> and Swagger UI at <c>/swagger</c>. Unset: on in
    /// every environment except Production, where it is opt-in.
    /// </summary>
    public bool? Enabled { get; set; }
}
