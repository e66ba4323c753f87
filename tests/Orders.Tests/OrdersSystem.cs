using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Inventory;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Orders.Tests;

/// <summary>
/// Orders and a real Inventory, both in memory, each on its own test database. Orders reaches Inventory
/// through the same typed gRPC client it uses in production, re-pointed at Inventory's TestServer through
/// <see cref="InventoryLink"/>, which can also simulate Inventory being unreachable.
/// </summary>
public sealed class OrdersSystem : IAsyncDisposable
{
    private readonly TestDatabase _inventoryDb;
    private readonly TestDatabase _ordersDb;

    private OrdersSystem(TestDatabase inventoryDb, TestDatabase ordersDb, RunningService inventory, RunningService orders, InventoryLink link)
    {
        _inventoryDb = inventoryDb;
        _ordersDb = ordersDb;
        InventoryHost = inventory;
        OrdersHost = orders;
        Link = link;
        Orders = new OrderService.OrderServiceClient(orders.Channel);
        Inventory = new InventoryService.InventoryServiceClient(inventory.Channel);
    }

    public RunningService InventoryHost { get; }

    public RunningService OrdersHost { get; }

    public OrderService.OrderServiceClient Orders { get; }

    public InventoryService.InventoryServiceClient Inventory { get; }

    /// <summary>The connection from Orders to Inventory; set <see cref="InventoryLink.Down"/> to cut it.</summary>
    public InventoryLink Link { get; }

    /// <summary>The test's cancellation token, for every call a test makes.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public PendingOrderReconciler Reconciler => OrdersHost.Services.GetRequiredService<PendingOrderReconciler>();

    /// <param name="settings">Extra Orders settings, applied last.</param>
    public static async Task<OrdersSystem> StartAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null)
    {
        var inventoryDb = await TestDatabase.CreateAsync(provider);
        var ordersDb = await TestDatabase.CreateAsync(provider);

        var inventorySettings = inventoryDb.Settings("Inventory");
        inventorySettings["Serilog:MinimumLevel:Default"] = "Warning";
        var inventory = await RunningService.StartAsync(
            Transport.InMemory,
            inventorySettings,
            builder => builder.AddServiceDefaults().AddInventory(),
            app => app.MapInventoryAsync());

        var link = new InventoryLink();
        var ordersSettings = ordersDb.Settings("Orders");
        ordersSettings["Serilog:MinimumLevel:Default"] = "Warning";
        ordersSettings["Services:Inventory"] = inventory.Address.ToString();
        // The background loop stays out of the way; tests run reconcile passes themselves.
        ordersSettings["Orders:ReconcileInterval"] = "01:00:00";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            ordersSettings[key] = value;
        }

        var orders = await RunningService.StartAsync(
            Transport.InMemory,
            ordersSettings,
            builder =>
            {
                builder.AddServiceDefaults().AddOrders();
                builder.Services.AddGrpcClient<InventoryService.InventoryServiceClient>()
                    .ConfigurePrimaryHttpMessageHandler(() => link.Connect(inventory.App.GetTestServer().CreateHandler()));
            },
            app => app.MapOrdersAsync());

        return new OrdersSystem(inventoryDb, ordersDb, inventory, orders, link);
    }

    public async Task StockAsync(string sku, int available) =>
        await Inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = $"Item {sku}", Available = available }, cancellationToken: Ct);

    public async Task<Item> ItemAsync(string sku) =>
        (await Inventory.GetItemAsync(new GetItemRequest { Sku = sku }, cancellationToken: Ct)).Item;

    public async Task<Order> PlaceAsync(string requestId, string customerId, params (string Sku, int Quantity)[] lines) =>
        (await Orders.PlaceOrderAsync(PlaceOrderRequest(requestId, customerId, lines), cancellationToken: Ct)).Order;

    public static PlaceOrderRequest PlaceOrderRequest(string requestId, string customerId, params (string Sku, int Quantity)[] lines)
    {
        var request = new PlaceOrderRequest { RequestId = requestId, CustomerId = customerId };
        request.Lines.AddRange(lines.Select(l => new Contracts.Orders.V1.OrderLine { Sku = l.Sku, Quantity = l.Quantity }));
        return request;
    }

    public async Task<Order> GetAsync(string orderId) =>
        (await Orders.GetOrderAsync(new GetOrderRequest { OrderId = orderId }, cancellationToken: Ct)).Order;

    /// <summary>What is really stored in the orders database.</summary>
    public async Task<T> QueryOrdersAsync<T>(Func<OrdersDbContext, Task<T>> query)
    {
        await using var scope = OrdersHost.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<OrdersDbContext>());
    }

    public Task<List<Model.Order>> StoredOrdersAsync(string customerId) =>
        QueryOrdersAsync(db => db.Orders.AsNoTracking().Include(o => o.Lines).Where(o => o.CustomerId == customerId).ToListAsync(Ct));

    public async ValueTask DisposeAsync()
    {
        await OrdersHost.DisposeAsync();
        await InventoryHost.DisposeAsync();
        await _ordersDb.DisposeAsync();
        await _inventoryDb.DisposeAsync();
    }
}

/// <summary>
/// Stands in for the network between Orders and Inventory (in memory there is none to unplug). While
/// <see cref="Down"/> is set, every call fails the way a refused connection does, which the gRPC client reports
/// as UNAVAILABLE.
/// </summary>
public sealed class InventoryLink
{
    private volatile bool _down;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    public HttpMessageHandler Connect(HttpMessageHandler inventory) => new Handler(this) { InnerHandler = inventory };

    private sealed class Handler(InventoryLink link) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            link.Down
                ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (Inventory is down for this test).")
                : base.SendAsync(request, cancellationToken);
    }
}
