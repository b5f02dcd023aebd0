using System.Collections.Concurrent;

namespace KimaraGateway.Hosting;

/// <summary>
/// One logger per category, like Microsoft's own LoggerFactory. Serilog's factory builds a new logger, with its own
/// property caches, on every <see cref="CreateLogger"/>, and ASP.NET Core creates an authentication handler (which asks
/// for its logger) on every request: that alone was an eighth of the bytes a cached status read allocated.
/// </summary>
internal sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, inner.CreateLogger);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    /// <summary>Wraps the <see cref="ILoggerFactory"/> registered last (Serilog's) in a caching one.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        services.Remove(registered);
        services.AddSingleton<ILoggerFactory>(provider => new CachingLoggerFactory(registered switch
        {
            { ImplementationFactory: { } factory } => (ILoggerFactory)factory(provider),
            { ImplementationInstance: ILoggerFactory instance } => instance,
            _ => (ILoggerFactory)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!),
        }));
    }
}
