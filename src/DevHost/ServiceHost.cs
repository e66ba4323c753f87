using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
//#if (IncludeTelemetry)
using Contoso.Retail.TelemetryIngest;
//#endif

using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Contoso.Retail.DevHost;

/// <summary>One of the system's services, hosted as its own WebApplication inside the DevHost process.</summary>
public sealed class ServiceHost : IAsyncDisposable
{
    private ServiceHost(string name, WebApplication app, Uri grpcAddress, Uri webAddress)
    {
        Name = name;
        App = app;
        GrpcAddress = grpcAddress;
        WebAddress = webAddress;
    }

    /// <summary>The service's lower-case name: inventory, orders, ...</summary>
    public string Name { get; }

    public WebApplication App { get; }

    /// <summary>The address the gRPC endpoint is bound to (the real port when configured with port 0).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>The gRPC-Web (HTTP/1.1) endpoint browsers call, with CORS for the DevHost's page.</summary>
    public Uri WebAddress { get; }

    public static Task<ServiceHost> StartInventoryAsync(DevHostSettings settings, string pageOrigin, CancellationToken cancellationToken) =>
        StartAsync("inventory", "Contoso.Retail.Inventory", "Inventory", settings, settings.Inventory, pageOrigin,
            new() { ["Inventory:SeedSampleData"] = "true" },
            builder => builder.AddInventory(), app => app.MapInventoryAsync(), cancellationToken);

    public static Task<ServiceHost> StartOrdersAsync(DevHostSettings settings, Uri inventory, string pageOrigin, CancellationToken cancellationToken) =>
        StartAsync("orders", "Contoso.Retail.Orders", "Orders", settings, settings.Orders, pageOrigin,
            new() { ["Services:Inventory"] = inventory.ToString() },
            builder => builder.AddOrders(), app => app.MapOrdersAsync(), cancellationToken);

    //#if (IncludeTelemetry)
    public static Task<ServiceHost> StartTelemetryAsync(DevHostSettings settings, string pageOrigin, CancellationToken cancellationToken) =>
        StartAsync("telemetry", "Contoso.Retail.TelemetryIngest", "Telemetry", settings, settings.Telemetry, pageOrigin,
            [], builder => builder.AddTelemetryIngest(), app => app.MapTelemetryIngestAsync(), cancellationToken);

    //#endif
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>
    /// Builds the service the way its own Program.cs does, with a configuration layer on top that puts
    /// its endpoints, its SQLite file under the DevHost data folder and <paramref name="extra"/> in place.
    /// gRPC-Web is on, on its own HTTP/1.1 endpoint (browsers cannot speak cleartext HTTP/2), for the page's origin.
    /// </summary>
    private static async Task<ServiceHost> StartAsync(
        string name,
        string applicationName,
        string database,
        DevHostSettings settings,
        ServiceEndpoints endpoints,
        string pageOrigin,
        Dictionary<string, string?> extra,
        Action<WebApplicationBuilder> add,
        Func<WebApplication, Task> use,
        CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = applicationName,
            ContentRootPath = settings.ContentRoot,
            EnvironmentName = settings.EnvironmentName,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = endpoints.Grpc,
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Management:Url"] = endpoints.Management,
            ["Kestrel:Endpoints:Management:Protocols"] = "Http1",
            ["Kestrel:Endpoints:Web:Url"] = endpoints.Web,
            ["Kestrel:Endpoints:Web:Protocols"] = "Http1",
            ["GrpcWeb:Enabled"] = "true",
            ["GrpcWeb:AllowedOrigins:0"] = pageOrigin,
            ["Database:Provider"] = "Sqlite",
            [$"ConnectionStrings:{database}"] = $"Data Source={Path.Combine(settings.DataDir, name + ".db")}",
        });
        builder.Configuration.AddInMemoryCollection(extra);
        if (settings.Demo)
        {
            // Per-request logs would drown the demo's narration.
            builder.Configuration["Serilog:MinimumLevel:Default"] = "Warning";
        }

        // DevHost prints one "ready" line per service instead of each host's startup banner.
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);

        // Capture the endpoints' ListenOptions: after binding they hold the real port (useful with port 0).
        ListenOptions? grpcListener = null, webListener = null;
        builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel
            .Configure(context.Configuration.GetSection("Kestrel"))
            .Endpoint("Grpc", endpoint => grpcListener = endpoint.ListenOptions)
            .Endpoint(GrpcWeb.WebEndpointName, endpoint => webListener = endpoint.ListenOptions));

        builder.AddServiceDefaults();
        add(builder);
        var app = builder.Build();
        try
        {
            app.MapDefaultEndpoints();
            await use(app);
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await app.DisposeAsync();
            throw new ServiceStartException($"{name} did not start: {ex.Message}", ex);
        }

        return new ServiceHost(name, app, Bound(endpoints.Grpc, grpcListener), Bound(endpoints.Web, webListener));
    }

    private static Uri Bound(string configured, ListenOptions? listener)
    {
        var uri = new Uri(configured);
        return new UriBuilder(uri) { Port = listener?.IPEndPoint?.Port ?? uri.Port, Path = "" }.Uri;
    }
}

/// <summary>A service failed to start (port in use, database it cannot migrate...); the message says which.</summary>
public sealed class ServiceStartException(string message, Exception inner) : Exception(message, inner);
