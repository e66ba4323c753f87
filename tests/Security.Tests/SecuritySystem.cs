using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
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
    private readonly TestSystem _system;

    private SecuritySystem(TestSystem system) => _system = system;

    public RunningService Inventory => _system.Inventory;

    public RunningService Orders => _system.Orders;

    //#if (IncludeTelemetry)
    public RunningService Telemetry => _system.Telemetry;

    //#endif
    public IEnumerable<RunningService> Hosts => _system.Services;

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="settings">Applied to every service, last.</param>
    /// <param name="configure">Runs on every service's builder before AddServiceDefaults (environment, test interceptors).</param>
    public static async Task<SecuritySystem> StartAsync(
        DatabaseProvider provider = DatabaseProvider.Sqlite,
        IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var all = new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Error" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return new SecuritySystem(await TestSystem.StartAsync(new TestSystemOptions
        {
            Provider = provider,
            Settings = all,
            Prepare = configure,
            Inventory = new(),
            Orders = new(),
            //#if (IncludeTelemetry)
            Telemetry = new(),
            //#endif
        }));
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

    public ValueTask DisposeAsync() => _system.DisposeAsync();
}
