using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Builder;
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
    private readonly TestSystem _system;

    private OrdersSystem(TestSystem system, InventoryLink link)
    {
        _system = system;
        Link = link;
        Orders = new OrderService.OrderServiceClient(system.Orders.Channel);
        Inventory = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
    }

    public RunningService InventoryHost => _system.Inventory;

    public RunningService OrdersHost => _system.Orders;

    public OrderService.OrderServiceClient Orders { get; }

    public InventoryService.InventoryServiceClient Inventory { get; }

    /// <summary>The connection from Orders to Inventory; set <see cref="InventoryLink.Down"/> to cut it.</summary>
    public InventoryLink Link { get; }

    /// <summary>The test's cancellation token, for every call a test makes.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public PendingOrderReconciler Reconciler => OrdersHost.Services.GetRequiredService<PendingOrderReconciler>();

    /// <param name="settings">Extra Orders settings, applied last.</param>
    /// <param name="configureOrders">Runs on Orders' builder after the service is added (a replaced registration).</param>
    public static async Task<OrdersSystem> StartAsync(
        DatabaseProvider provider, IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configureOrders = null)
    {
        var link = new InventoryLink();
        var system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Provider = provider,
            Inventory = new() { Transport = Transport.InMemory, DefaultEndpoints = false },
            // The background reconcile loop stays out of the way (the harness default); tests run reconcile passes themselves.
            Orders = new()
            {
                Transport = Transport.InMemory,
                DefaultEndpoints = false,
                Settings = new(settings ?? new Dictionary<string, string?>()),
                Configure = configureOrders,
            },
            InventoryLink = link.Connect,
        });
        return new OrdersSystem(system, link);
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

    public ValueTask DisposeAsync() => _system.DisposeAsync();
}

/// <summary>
/// Stands in for the network between Orders and Inventory (in memory there is none to unplug). While
/// <see cref="Down"/> is set, every call fails the way a refused connection does, which the gRPC client reports
/// as UNAVAILABLE. After <see cref="Hold"/>, every call waits at the link until <see cref="Let"/>.
/// </summary>
public sealed class InventoryLink
{
    private volatile bool _down;
    private volatile TaskCompletionSource? _held;
    private volatile TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>Completes when a call first waits at the link after the latest <see cref="Hold"/>.</summary>
    public Task Holding => _holding.Task;

    public void Hold()
    {
        _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Lets the held calls, and every later one, through.</summary>
    public void Let() => Interlocked.Exchange(ref _held, null)?.TrySetResult();

    public HttpMessageHandler Connect(HttpMessageHandler inventory) => new Handler(this) { InnerHandler = inventory };

    private sealed class Handler(InventoryLink link) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (link._held is { } held)
            {
                link._holding.TrySetResult();
                await held.Task.WaitAsync(cancellationToken);
            }

            return link.Down
                ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (Inventory is down for this test).")
                : await base.SendAsync(request, cancellationToken);
        }
    }
}
