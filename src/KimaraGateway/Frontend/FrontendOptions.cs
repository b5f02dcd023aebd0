namespace KimaraGateway.Frontend;

/// <summary>The <c>Frontend</c> configuration section: the reference web client served at <c>/app/</c>.</summary>
public sealed class FrontendOptions
{
    public const string SectionName = "Frontend";

    /// <summary>Serve the reference client. Unset: on in Development, off elsewhere.</summary>
    public bool? Enabled { get; set; }
}
