using System.Text.Json;
using System.Text.Json.Serialization;
using Kimara.Simulator.Control;
using Kimara.Simulator.Faults;
using Kimara.Simulator.Outputs;
using Kimara.Simulator.Runs;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Kimara.Simulator;

/// <summary>Builds and starts the Kimara simulator, standalone or inside another process.</summary>
public static class SimulatorApp
{
    /// <summary>
    /// Builds the simulator app. Options are bound from the <c>Simulator</c> configuration section, then
    /// <paramref name="configure"/> may adjust them.
    /// </summary>
    public static WebApplication Build(string[] args, Action<SimulatorOptions>? configure = null) =>
        Build(args, configure, configureServices: null);

    /// <summary>
    /// Builds the simulator app; <paramref name="configureServices"/> runs last, so it can replace services
    /// such as the <see cref="TimeProvider"/> (a fake clock in tests).
    /// </summary>
    public static WebApplication Build(string[] args, Action<SimulatorOptions>? configure, Action<IServiceCollection>? configureServices)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SimulatorApp).Assembly.GetName().Name,
        });

        var options = builder.Configuration.GetSection(SimulatorOptions.SectionName).Get<SimulatorOptions>() ?? new SimulatorOptions();
        configure?.Invoke(options);

        builder.Services.AddSingleton(options);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SimulatorState>();
        builder.Services.AddSingleton<OutputSigner>();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseRouting();
        app.UseRequestCounting();
        app.UseSimulatedFaults();
        app.MapRuns();
        app.MapOutputs();
        app.MapSimulatorControl();
        return app;
    }

    /// <summary>Starts a simulator on Kestrel at <paramref name="url"/> (port 0 picks a free port) and returns once it listens.</summary>
    public static Task<SimulatorServer> StartAsync(
        Action<SimulatorOptions>? configure = null, string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default) =>
        StartAsync(configure, configureServices: null, url, cancellationToken);

    /// <summary>As <see cref="StartAsync(Action{SimulatorOptions}?, string, CancellationToken)"/>, with a hook to replace services.</summary>
    public static async Task<SimulatorServer> StartAsync(
        Action<SimulatorOptions>? configure,
        Action<IServiceCollection>? configureServices,
        string url = "http://127.0.0.1:0",
        CancellationToken cancellationToken = default)
    {
        var app = Build([], configure, configureServices);
        app.Urls.Clear();
        app.Urls.Add(url);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The simulator started without a listening address.");
        return new SimulatorServer(app, new Uri(address.TrimEnd('/') + "/"), app.Services.GetRequiredService<SimulatorOptions>());
    }
}

/// <summary>A running in-process simulator; dispose to stop it.</summary>
public sealed class SimulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal SimulatorServer(WebApplication app, Uri baseAddress, SimulatorOptions options)
    {
        _app = app;
        BaseAddress = baseAddress;
        Options = options;
    }

    /// <summary>Where it listens, with the real bound port, e.g. <c>http://127.0.0.1:43117/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The live options: the same instance the app reads on every request.</summary>
    public SimulatorOptions Options { get; }

    public string ApiKey => Options.ApiKey;

    /// <summary>The app's services, e.g. to reach the <see cref="TimeProvider"/> it uses.</summary>
    public IServiceProvider Services => _app.Services;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
