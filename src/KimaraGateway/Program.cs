using KimaraGateway.Apps;
using KimaraGateway.Callers;
using KimaraGateway.Frontend;
using KimaraGateway.Hosting;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Upstream;

HealthProbe.RunIfRequested(args);

if (ApiKeyMinting.TryRun(args, Console.Out))
{
    return;
}

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayHosting();
builder.AddKimaraUpstream();
builder.AddCallers();
builder.AddApps();
builder.AddRuns();
builder.AddOutputs();
builder.AddFrontend();

var app = builder.Build();

app.UseGatewayHosting();
app.UseFrontend();
app.MapRuns();
app.MapApps();
app.MapOutputs();

app.Run();

/// <summary>The gateway's entry point, public for the integration tests' WebApplicationFactory.</summary>
public partial class Program;
