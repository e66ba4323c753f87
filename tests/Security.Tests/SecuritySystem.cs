using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
//#if (IncludeTelemetry)
using Contoso.Retail.TelemetryIngest;
//#endif
using Contoso.Retail.TestSupport;

using Google.Protobuf.Reflection;

using Grpc.Health.V1;
using Grpc.Net.Client;

using Microsoft.AspNetCore.Builder;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// The services on real Kestrel (HTTP/2 cleartext on loopback), each on its own fresh database, Orders
/// calling Inventory over the network as deployed. Every contract method is reachable through <see cref="HostOf"/>.
/// </summary>
public sealed class SecuritySystem : IAsyncDisposable
{
    private readonly List<TestDatabase> _databases;

    private SecuritySystem(List<TestDatabase> databases, RunningService inventory, RunningService orders)
    {
        _databases = databases;
        Inventory = inventory;
        Orders = orders;
    }

    public RunningService Inventory { get; }

    public RunningService Orders { get; }

    //#if (IncludeTelemetry)
    public RunningService Telemetry { get; private init; } = null!;

    //#endif
    public IEnumerable<RunningService> Hosts =>
    [
        Inventory,
        Orders,
        //#if (IncludeTelemetry)
        Telemetry,
        //#endif
    ];

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="settings">Applied to every service, last.</param>
    /// <param name="configure">Runs on every service's builder before AddServiceDefaults (environment, test interceptors).</param>
    public static async Task<SecuritySystem> StartAsync(
        DatabaseProvider provider = DatabaseProvider.Sqlite,
        IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var databases = new List<TestDatabase>();
        async Task<Dictionary<string, string?>> SettingsFor(string name)
        {
            var db = await TestDatabase.CreateAsync(provider);
            databases.Add(db);
            var all = db.Settings(name);
            all["Serilog:MinimumLevel:Default"] = "Error";
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                all[key] = value;
            }

            return all;
        }

        var inventory = await RunningService.StartAsync(
            Transport.Kestrel, await SettingsFor("Inventory"),
            builder =>
            {
                configure?.Invoke(builder);
                builder.AddServiceDefaults().AddInventory();
            },
            async app =>
            {
                app.MapDefaultEndpoints();
                await app.MapInventoryAsync();
            });

        var ordersSettings = await SettingsFor("Orders");
        ordersSettings["Services:Inventory"] = inventory.Address.ToString();
        ordersSettings["Orders:ReconcileInterval"] = "01:00:00";
        var orders = await RunningService.StartAsync(
            Transport.Kestrel, ordersSettings,
            builder =>
            {
                configure?.Invoke(builder);
                builder.AddServiceDefaults().AddOrders();
            },
            async app =>
            {
                app.MapDefaultEndpoints();
                await app.MapOrdersAsync();
            });

        //#if (IncludeTelemetry)
        var telemetry = await RunningService.StartAsync(
            Transport.Kestrel, await SettingsFor("Telemetry"),
            builder =>
            {
                configure?.Invoke(builder);
                builder.AddServiceDefaults().AddTelemetryIngest();
            },
            async app =>
            {
                app.MapDefaultEndpoints();
                await app.MapTelemetryIngestAsync();
            });
        //#endif

        return new SecuritySystem(databases, inventory, orders)
        {
            //#if (IncludeTelemetry)
            Telemetry = telemetry,
            //#endif
        };
    }

    /// <summary>The service that implements <paramref name="method"/>.</summary>
    public RunningService HostOf(MethodDescriptor method) => method.Service.FullName switch
    {
        "inventory.v1.InventoryService" => Inventory,
        "orders.v1.OrderService" => Orders,
        //#if (IncludeTelemetry)
        "telemetry.v1.TelemetryIngestService" => Telemetry,
        //#endif
        var other => throw new InvalidOperationException($"No host serves {other}: add it to SecuritySystem."),
    };

    /// <summary>Items the samples refer to, so valid requests really succeed.</summary>
    public async Task SeedAsync()
    {
        var inventory = new InventoryService.InventoryServiceClient(Inventory.Channel);
        foreach (var sku in MethodSamples.SeedSkus)
        {
            await inventory.UpsertItemAsync(
                new UpsertItemRequest { Sku = sku, Name = $"Item {sku}", Available = 1_000_000 }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: Ct);
        }
    }

    public async Task<Item> ItemAsync(string sku) =>
        (await new InventoryService.InventoryServiceClient(Inventory.Channel).GetItemAsync(new GetItemRequest { Sku = sku }, cancellationToken: Ct)).Item;

    /// <summary>True when every service still answers grpc.health.v1 Check with SERVING.</summary>
    public async Task<bool> AllServingAsync()
    {
        foreach (var host in Hosts)
        {
            var reply = await new Grpc.Health.V1.Health.HealthClient(host.Channel).CheckAsync(
                new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);
            if (reply.Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                return false;
            }
        }

        return true;
    }

    public static GrpcChannel SingleConnectionChannel(RunningService host, string token) =>
        Contracts.Auth.BearerChannel.ForAddress(host.Address, token, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts.Reverse())
        {
            await host.DisposeAsync();
        }

        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }
    }
}
