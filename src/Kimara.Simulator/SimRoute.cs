namespace Kimara.Simulator;

/// <summary>
/// Endpoint metadata naming a simulated Kimara route: its counter key, its fault target
/// (<c>post</c>, <c>get</c> or <c>output</c>) and the route value that holds the run id, if any.
/// </summary>
internal sealed record SimRoute(string CounterKey, string FaultTarget, string? RunIdRouteValue);
