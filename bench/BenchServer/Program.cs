using Contoso.Retail.BenchServer;
using Contoso.Retail.Inventory;
using Contoso.Retail.Inventory.Grpc;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Interceptors;

using Microsoft.Extensions.Diagnostics.HealthChecks;

// --Bench:Pipeline bare|full   bare: AddGrpc() alone; full: AddServiceDefaults() (auth, tracing, logging, metrics...)
// --Bench:Data sqlite|memory   sqlite: Inventory's own service and EF Core data access; memory: GetItem from a dictionary
// Ports: Kestrel:Endpoints (Grpc with Protocols Http2, and Management for the full pipeline), as for the services.
var builder = WebApplication.CreateBuilder(args);
var full = builder.Configuration["Bench:Pipeline"] == "full";
var inMemory = builder.Configuration["Bench:Data"] == "memory";

// --Bench:Without telemetry|logging|...  full minus pieces, to see what each costs (docs/benchmarks.md, "decomposition")
var without = (builder.Configuration["Bench:Without"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
if (full && without.Length == 0)
{
    builder.AddServiceDefaults();
}
else if (full)
{
    // AddServiceDefaults() one piece at a time (gRPC-Web, off by default, left out).
    if (without.Contains("logging"))
    {
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<CallLoggingInterceptor>();
    }
    else
    {
        builder.AddDefaultLogging();
    }

    if (!without.Contains("telemetry"))
    {
        builder.AddDefaultTelemetry();
    }

    builder.AddDefaultAuth();
    builder.AddDefaultGrpc();
    builder.AddDefaultHealthChecks();
    builder.AddDefaultLifetime();
}
else
{
    // Quiet like the services (their per-call lines are Debug): warnings and errors only.
    builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddGrpc();
    // grpc.health.v1 for bench/run.sh's startup probe; with no check at all it would answer UNKNOWN.
    builder.Services.AddGrpcHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy());
}

if (!inMemory)
{
    builder.AddInventory();
}

var app = builder.Build();
if (full && without.Length == 0)
{
    app.MapDefaultEndpoints();
}
else if (full)
{
    app.MapDefaultHealthEndpoints();
    app.MapDefaultGrpcEndpoints();
    if (!without.Contains("telemetry"))
    {
        app.MapDefaultTelemetryEndpoints();
    }
}
else
{
    app.MapGrpcHealthChecksService();
}

if (inMemory)
{
    app.MapGrpcService<InMemoryInventoryService>();
}
else
{
    // Maps Inventory's InventoryGrpcService, migrates and (Inventory:SeedSampleData) seeds: the same handler and queries.
    await app.MapInventoryAsync();
}

await app.RunAsync();
