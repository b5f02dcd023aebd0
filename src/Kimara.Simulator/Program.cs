namespace Kimara.Simulator;

/// <summary>Standalone entry point: <c>dotnet run --project src/Kimara.Simulator</c>.</summary>
public static class Program
{
    public static Task Main(string[] args)
    {
        var app = SimulatorApp.Build(args);
        if (string.IsNullOrEmpty(app.Configuration["urls"]) && string.IsNullOrEmpty(app.Configuration["http_ports"]))
            app.Urls.Add("http://localhost:5080");
        return app.RunAsync();
    }
}
