using KimaraGateway.Apps;
using KimaraGateway.Callers;
using KimaraGateway.Hosting;
using KimaraGateway.Outputs;
using KimaraGateway.Runs;
using KimaraGateway.Upstream;

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayHosting();
builder.AddKimaraUpstream();
builder.AddCallers();
builder.AddApps();
builder.AddRuns();
builder.AddOutputs();

var app = builder.Build();

app.UseGatewayHosting();
app.MapRuns();
app.MapApps();
app.MapOutputs();

app.Run();

/// <summary>The gateway's entry point, public for the integration tests' WebApplicationFactory.</summary>
public partial class Program;
