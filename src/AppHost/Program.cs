// Each service in its own process, with Aspire's dashboard showing their traces, metrics and logs (DevHost runs the
// same services in one process and starts faster). `dotnet run --project src/AppHost`; add `--Database postgres` for
// PostgreSQL in a container (needs a Docker engine), or `--DataDir <path>` to keep the SQLite files there.
var builder = DistributedApplication.CreateBuilder(args);
var postgres = string.Equals(builder.Configuration["Database"], "postgres", StringComparison.OrdinalIgnoreCase)
    ? builder.AddPostgres("postgres")
    : null;
var dataDir = builder.Configuration["DataDir"] is { Length: > 0 } dir ? Path.GetFullPath(dir) : null;

var inventory = Service<Projects.Inventory>("inventory", "Inventory");
Service<Projects.Orders>("orders", "Orders")
    .WithEnvironment("Services__Inventory", inventory.GetEndpoint("Grpc"))
    .WaitFor(inventory);
//#if (IncludeTelemetry)
Service<Projects.TelemetryIngest>("telemetry", "Telemetry");
//#endif

builder.Build().Run();

// The endpoints are the service's own (appsettings.json, Kestrel:Endpoints Grpc and Management), bound by the service
// without DCP's proxy: a port already taken fails the service loudly instead of routing its callers to a stranger.
IResourceBuilder<ProjectResource> Service<TProject>(string name, string database)
    where TProject : IProjectMetadata, new()
{
    var service = builder.AddProject<TProject>(name).WithHttpHealthCheck("/health/ready", endpointName: "Management");
    service.WithEndpointProxySupport(false);
    if (postgres is not null)
    {
        service.WithEnvironment("Database__Provider", "Postgres")
            .WithReference(postgres.AddDatabase($"{name}-db"), connectionName: database)
            .WaitFor(postgres);
    }
    else if (dataDir is not null)
    {
        service.WithEnvironment($"ConnectionStrings__{database}", $"Data Source={Path.Combine(dataDir, name + ".db")}");
    }

    return service;
}
