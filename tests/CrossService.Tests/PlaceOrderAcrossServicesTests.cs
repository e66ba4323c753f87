using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Rpc;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// PlaceOrder end to end: Orders and Inventory each on real Kestrel on a loopback port, Orders calling
/// Inventory over HTTP/2 through its production gRPC client, each service on its own database.
/// </summary>
public class PlaceOrderAcrossServicesTests
{
    /// <summary>How long to wait for a signal that should come at once, before failing instead of hanging.</summary>
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_reserves_real_stock_in_inventory(DatabaseProvider provider)
    {
        await using var system = await PlaceOrderSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 10);
        await system.StockAsync("MS-002", 3);

        var order = (await system.Orders.PlaceOrderAsync(
            Request("req-1", "cust-1", ("KB-001", 2), ("MS-002", 3)), cancellationToken: Ct)).Order;

        Assert.Equal(OrderStatus.Confirmed, order.Status);
        Assert.Equal((8, 2), await system.StockOfAsync("KB-001"));
        Assert.Equal((0, 3), await system.StockOfAsync("MS-002"));
        Assert.Equal(order, (await system.Orders.GetOrderAsync(new GetOrderRequest { OrderId = order.OrderId }, cancellationToken: Ct)).Order);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_sent_16_times_at_once_with_one_request_id_makes_one_order_and_takes_stock_once(DatabaseProvider provider)
    {
        await using var system = await PlaceOrderSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 100);
        var request = Request("req-dup", "cust-1", ("KB-001", 5));

        var orders = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
            (await system.Orders.PlaceOrderAsync(request, cancellationToken: Ct)).Order));

        Assert.Single(orders.Select(o => o.OrderId).Distinct());
        Assert.All(orders, o => Assert.Equal(OrderStatus.Confirmed, o.Status));
        Assert.Equal((95, 5), await system.StockOfAsync("KB-001"));
        var listed = await system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1" }, cancellationToken: Ct);
        Assert.Equal(orders[0].OrderId, Assert.Single(listed.Orders).OrderId);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_short_of_stock_is_failed_precondition_naming_the_sku_and_takes_nothing(DatabaseProvider provider)
    {
        await using var system = await PlaceOrderSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 10);
        await system.StockAsync("MS-002", 1);

        var ex = await Assert.ThrowsAsync<RpcException>(() => system.Orders.PlaceOrderAsync(
            Request("req-1", "cust-1", ("KB-001", 2), ("MS-002", 2)), cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        var violation = Assert.Single(ex.GetRpcStatus()!.GetDetail<PreconditionFailure>()!.Violations);
        Assert.Equal(("INSUFFICIENT_STOCK", "MS-002"), (violation.Type, violation.Subject));
        Assert.Equal((10, 0), await system.StockOfAsync("KB-001"));
        Assert.Equal((1, 0), await system.StockOfAsync("MS-002"));
        var listed = await system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1" }, cancellationToken: Ct);
        Assert.Equal(OrderStatus.Rejected, Assert.Single(listed.Orders).Status);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_callers_deadline_reaches_inventory_and_the_reconciler_gives_back_what_was_reserved(DatabaseProvider provider)
    {
        // Inventory takes the stock but holds its answer until the call is cancelled, so the caller's deadline
        // passes while Orders waits. Orders' own default (an hour here) would be far later than the caller's.
        await using var system = await PlaceOrderSystem.StartAsync(provider, inventoryCallTimeout: TimeSpan.FromHours(1));
        await system.StockAsync("KB-001", 10);
        await system.StockAsync("WARM-UP", 1);
        // One order first, so connections and caches are warm and the short deadline below is spent waiting on Inventory.
        await system.Orders.PlaceOrderAsync(Request("req-warm-up", "cust-warm-up", ("WARM-UP", 1)), cancellationToken: Ct);
        system.Gate.HoldNextReservation();
        var deadline = DateTime.UtcNow.AddSeconds(3);

        var ex = await Assert.ThrowsAsync<RpcException>(() => system.Orders.PlaceOrderAsync(
            Request("req-slow", "cust-1", ("KB-001", 4)), deadline: deadline, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        var inventoryDeadline = await system.Gate.ReservedUnderDeadline.Task.WaitAsync(SignalTimeout, Ct);
        Assert.True(inventoryDeadline < deadline.AddMinutes(1),
            $"Inventory saw deadline {inventoryDeadline:O}; the caller's was {deadline:O}, so it was not propagated.");
        await system.Gate.CancellationSeen.Task.WaitAsync(SignalTimeout, Ct);

        // The stock was taken but the order never heard: it stays PENDING, holding stock, until reconciled.
        var pending = Assert.Single((await system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1" }, cancellationToken: Ct)).Orders);
        Assert.Equal(OrderStatus.Pending, pending.Status);
        Assert.Equal((6, 4), await system.StockOfAsync("KB-001"));

        Assert.Equal(1, await system.Reconciler.ReconcileAsync(DateTimeOffset.UtcNow.AddHours(2), Ct));

        var order = (await system.Orders.GetOrderAsync(new GetOrderRequest { OrderId = pending.OrderId }, cancellationToken: Ct)).Order;
        Assert.Equal(OrderStatus.Rejected, order.Status);
        Assert.Equal((10, 0), await system.StockOfAsync("KB-001"));

        var late = await Assert.ThrowsAsync<RpcException>(() => system.Inventory.ReserveStockAsync(
            new ReserveStockRequest { ReservationId = pending.OrderId, Lines = { new ReservationLine { Sku = "KB-001", Quantity = 4 } } },
            cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, late.StatusCode);
        Assert.Equal((10, 0), await system.StockOfAsync("KB-001"));
    }

    private static PlaceOrderRequest Request(string requestId, string customerId, params (string Sku, int Quantity)[] lines)
    {
        var request = new PlaceOrderRequest { RequestId = requestId, CustomerId = customerId };
        request.Lines.AddRange(lines.Select(l => new OrderLine { Sku = l.Sku, Quantity = l.Quantity }));
        return request;
    }
}

/// <summary>Inventory and Orders on real sockets, each on a fresh database of the given provider.</summary>
file sealed class PlaceOrderSystem : IAsyncDisposable
{
    private readonly TestSystem _system;

    private PlaceOrderSystem(TestSystem system, ReservationGate gate)
    {
        _system = system;
        Gate = gate;
        Inventory = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
        Orders = new OrderService.OrderServiceClient(system.Orders.Channel);
    }

    public InventoryService.InventoryServiceClient Inventory { get; }

    public OrderService.OrderServiceClient Orders { get; }

    public ReservationGate Gate { get; }

    public PendingOrderReconciler Reconciler => _system.Orders.Services.GetRequiredService<PendingOrderReconciler>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<PlaceOrderSystem> StartAsync(DatabaseProvider provider, TimeSpan? inventoryCallTimeout = null)
    {
        var gate = new ReservationGate();
        var system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Provider = provider,
            Inventory = new() { DefaultEndpoints = false, Configure = builder => builder.AddServerInterceptor(gate) },
            Orders = new()
            {
                DefaultEndpoints = false,
                Settings = inventoryCallTimeout is { } timeout ? new() { ["GrpcClients:Inventory:DefaultDeadline"] = timeout.ToString("c") } : [],
            },
        });
        return new PlaceOrderSystem(system, gate);
    }

    public async Task StockAsync(string sku, int available) =>
        await Inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = sku, Available = available }, cancellationToken: Ct);

    public async Task<(int Available, int Reserved)> StockOfAsync(string sku)
    {
        var item = (await Inventory.GetItemAsync(new GetItemRequest { Sku = sku }, cancellationToken: Ct)).Item;
        return (item.Available, item.Reserved);
    }

    public ValueTask DisposeAsync() => _system.DisposeAsync();
}

/// <summary>
/// A server interceptor in Inventory that, once armed, lets one ReserveStock do its work and then holds the
/// answer until the call is cancelled: the shape of a slow network or an overloaded Inventory. It records
/// the deadline Inventory saw and that the cancellation arrived.
/// </summary>
file sealed class ReservationGate : Interceptor
{
    private int _armed;

    public TaskCompletionSource<DateTime> ReservedUnderDeadline { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource CancellationSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void HoldNextReservation() => Interlocked.Exchange(ref _armed, 1);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        if (request is not ReserveStockRequest || Interlocked.Exchange(ref _armed, 0) == 0)
        {
            return response;
        }

        ReservedUnderDeadline.TrySetResult(context.Deadline);
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            CancellationSeen.TrySetResult();
            throw;
        }

        return response;
    }
}
