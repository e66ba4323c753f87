using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Orders.Tests;

public class CancelOrderTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task CancelOrder_releases_the_stock_and_cancelling_again_returns_it_unchanged(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        var placed = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4));

        var cancelled = (await system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = placed.OrderId, Reason = "changed my mind" }, cancellationToken: OrdersSystem.Ct)).Order;

        Assert.Equal(OrderStatus.Cancelled, cancelled.Status);
        Assert.Equal("changed my mind", cancelled.StatusReason);
        Assert.Equal((10, 0), ((await system.ItemAsync("PEN-1")).Available, (await system.ItemAsync("PEN-1")).Reserved));
        Assert.Equal(cancelled, await system.GetAsync(placed.OrderId));

        var again = (await system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = placed.OrderId, Reason = "other" }, cancellationToken: OrdersSystem.Ct)).Order;
        Assert.Equal(cancelled, again);
        Assert.Equal(10, (await system.ItemAsync("PEN-1")).Available);

        // Replaying the original PlaceOrder returns the cancelled order; it does not reserve again.
        Assert.Equal(cancelled, await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4)));
        Assert.Equal(10, (await system.ItemAsync("PEN-1")).Available);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task CancelOrder_of_a_pending_order_cancels_it_and_stops_a_late_reservation(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        system.Link.Down = true;
        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        var pending = Assert.Single(await system.StoredOrdersAsync("cust-1"));
        system.Link.Down = false;

        var cancelled = (await system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = pending.Id }, cancellationToken: OrdersSystem.Ct)).Order;
        Assert.Equal(OrderStatus.Cancelled, cancelled.Status);

        // The client's retry of PlaceOrder now finds the cancelled order and takes nothing.
        Assert.Equal(OrderStatus.Cancelled, (await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2))).Status);
        Assert.Equal(10, (await system.ItemAsync("PEN-1")).Available);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task CancelOrder_with_inventory_down_is_unavailable_and_leaves_the_order_confirmed(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        var placed = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4));
        system.Link.Down = true;

        await RpcAssert.ThrowsAsync(StatusCode.Unavailable,
            () => system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = placed.OrderId }, cancellationToken: OrdersSystem.Ct).ResponseAsync);

        Assert.Equal(placed, await system.GetAsync(placed.OrderId));
        Assert.Equal(6, (await system.ItemAsync("PEN-1")).Available);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task CancelOrder_of_a_rejected_order_is_failed_precondition(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 1);
        await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        var rejected = Assert.Single(await system.StoredOrdersAsync("cust-1"));

        var ex = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition,
            () => system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = rejected.Id }, cancellationToken: OrdersSystem.Ct).ResponseAsync);

        Assert.Equal("ORDER_REJECTED", Assert.Single(ex.PreconditionViolations()).Type);
        Assert.Equal(OrderStatus.Rejected, (await system.GetAsync(rejected.Id)).Status);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task GetOrder_and_CancelOrder_of_an_unknown_order_are_not_found(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        var unknown = Guid.CreateVersion7().ToString();

        await RpcAssert.ThrowsAsync(StatusCode.NotFound, () => system.GetAsync(unknown));
        await RpcAssert.ThrowsAsync(StatusCode.NotFound,
            () => system.Orders.CancelOrderAsync(new CancelOrderRequest { OrderId = unknown }, cancellationToken: OrdersSystem.Ct).ResponseAsync);
    }
}
