using KimaraGateway.Runs;

namespace KimaraGateway.Outputs;

public static class OutputsExtensions
{
    public static WebApplicationBuilder AddOutputs(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OutputLinks>();
        builder.Services.AddSingleton<IRunCompletion, PassThroughCompletion>();
        builder.Services.AddHttpClient(OutputsApi.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(60))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }
}
