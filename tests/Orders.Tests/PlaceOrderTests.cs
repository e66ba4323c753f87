using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Orders.Tests;

public class PlaceOrderTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_reserves_stock_and_confirms_the_order(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        await system.StockAsync("INK-1", 5);

        var order = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 3), ("INK-1", 5));

        Assert.Equal(OrderStatus.Confirmed, order.Status);
        Assert.True(Guid.TryParse(order.OrderId, out var id) && id.Version == 7);
        Assert.Equal("req-1", order.RequestId);
        Assert.Equal([("INK-1", 5), ("PEN-1", 3)], order.Lines.Select(l => (l.Sku, l.Quantity)));
        Assert.Equal(order, await system.GetAsync(order.OrderId));

        var pen = await system.ItemAsync("PEN-1");
        Assert.Equal((7, 3), (pen.Available, pen.Reserved));
        var ink = await system.ItemAsync("INK-1");
        Assert.Equal((0, 5), (ink.Available, ink.Reserved));
    }

    /// <summary>
    /// PlaceOrder writes through the group commit in plain SQL, so while it waits on Inventory it holds none of EF Core's
    /// pooled contexts; the service it runs on used to lease one as it was activated and hold it to the end of the call.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_holds_no_EF_Core_context_while_it_waits_on_Inventory(DatabaseProvider provider)
    {
        var leases = new ContextLeases<Data.OrdersDbContext>();
        await using var system = await OrdersSystem.StartAsync(provider, configureOrders: leases.Count);
        await system.StockAsync("PEN-1", 10);

        system.Link.Hold();
        var placing = system.PlaceAsync("req-1", "cust-1", ("PEN-1", 3));
        await system.Link.Holding.WaitAsync(TimeSpan.FromSeconds(30), OrdersSystem.Ct);

        Assert.Equal(0, leases.Held);
        system.Link.Let();
        Assert.Equal(OrderStatus.Confirmed, (await placing).Status);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_twice_with_same_request_id_returns_same_order_and_takes_stock_once(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);

        var first = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4));
        var second = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4));

        Assert.Equal(first, second);
        Assert.Single(await system.StoredOrdersAsync("cust-1"));
        var pen = await system.ItemAsync("PEN-1");
        Assert.Equal((6, 4), (pen.Available, pen.Reserved));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_reusing_request_id_for_different_lines_is_already_exists(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        var first = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 4));

        var differentQuantity = await RpcAssert.ThrowsAsync(StatusCode.AlreadyExists,
            () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 5)));
        await RpcAssert.ThrowsAsync(StatusCode.AlreadyExists,
            () => system.PlaceAsync("req-1", "cust-2", ("PEN-1", 4)));

        Assert.Contains(first.OrderId, differentQuantity.Status.Detail, StringComparison.Ordinal);
        Assert.Single(await system.StoredOrdersAsync("cust-1"));
        Assert.Empty(await system.StoredOrdersAsync("cust-2"));
        Assert.Equal(6, (await system.ItemAsync("PEN-1")).Available);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_short_of_stock_is_rejected_naming_only_the_short_skus_and_takes_nothing(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        await system.StockAsync("INK-1", 1);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition,
            () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2), ("INK-1", 3), ("NOPE-1", 1)));

        var violations = ex.PreconditionViolations();
        Assert.Equal(["INK-1", "NOPE-1"], violations.Select(v => v.Subject).Order(StringComparer.Ordinal));
        Assert.Equal("INSUFFICIENT_STOCK", violations.Single(v => v.Subject == "INK-1").Type);
        Assert.Equal("UNKNOWN_SKU", violations.Single(v => v.Subject == "NOPE-1").Type);

        var stored = Assert.Single(await system.StoredOrdersAsync("cust-1"));
        Assert.Equal(Model.OrderStatus.Rejected, stored.Status);
        var order = await system.GetAsync(stored.Id);
        Assert.Equal(OrderStatus.Rejected, order.Status);
        Assert.Contains("INK-1", order.StatusReason, StringComparison.Ordinal);

        Assert.Equal((10, 0), ((await system.ItemAsync("PEN-1")).Available, (await system.ItemAsync("PEN-1")).Reserved));
        Assert.Equal((1, 0), ((await system.ItemAsync("INK-1")).Available, (await system.ItemAsync("INK-1")).Reserved));

        // Replaying the request gives the same answer, details included, without asking Inventory again.
        system.Link.Down = true;
        var replay = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition,
            () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2), ("INK-1", 3), ("NOPE-1", 1)));
        Assert.Equal(ex.Status.Detail, replay.Status.Detail);
        Assert.Equal(violations, replay.PreconditionViolations());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_with_inventory_down_is_unavailable_and_leaves_a_pending_order(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        system.Link.Down = true;

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Unavailable,
            () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));

        var stored = Assert.Single(await system.StoredOrdersAsync("cust-1"));
        Assert.Equal(Model.OrderStatus.Pending, stored.Status);
        Assert.Contains($"Order {stored.Id} is pending", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("same request_id", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(OrderStatus.Pending, (await system.GetAsync(stored.Id)).Status);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_retried_after_inventory_recovers_confirms_the_pending_order(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        system.Link.Down = true;
        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        var pending = Assert.Single(await system.StoredOrdersAsync("cust-1"));

        system.Link.Down = false;
        var order = await system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2));

        Assert.Equal(pending.Id, order.OrderId);
        Assert.Equal(OrderStatus.Confirmed, order.Status);
        Assert.Equal((8, 2), ((await system.ItemAsync("PEN-1")).Available, (await system.ItemAsync("PEN-1")).Reserved));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Reconciler_rejects_a_stale_pending_order_and_releases_it_so_a_late_reserve_is_refused(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        system.Link.Down = true;
        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        var pending = Assert.Single(await system.StoredOrdersAsync("cust-1"));

        // Not yet stale: nothing happens.
        Assert.Equal(0, await system.Reconciler.ReconcileAsync(DateTimeOffset.UtcNow, OrdersSystem.Ct));
        Assert.Equal(OrderStatus.Pending, (await system.GetAsync(pending.Id)).Status);

        // Stale while Inventory is still down: rejected now, the release is retried on a later pass.
        Assert.Equal(1, await system.Reconciler.ReconcileAsync(DateTimeOffset.UtcNow.AddHours(1), OrdersSystem.Ct));
        var rejected = Assert.Single(await system.StoredOrdersAsync("cust-1"));
        Assert.Equal(Model.OrderStatus.Rejected, rejected.Status);
        Assert.True(rejected.ReleasePending);

        system.Link.Down = false;
        Assert.Equal(0, await system.Reconciler.ReconcileAsync(DateTimeOffset.UtcNow.AddHours(1), OrdersSystem.Ct));
        Assert.False(Assert.Single(await system.StoredOrdersAsync("cust-1")).ReleasePending);

        var order = await system.GetAsync(pending.Id);
        Assert.Equal(OrderStatus.Rejected, order.Status);
        Assert.Equal("inventory did not confirm in time; nothing reserved", order.StatusReason);

        // A reservation that arrives late (say, a request stuck in a queue) cannot take stock nobody would release.
        var late = new ReserveStockRequest { ReservationId = pending.Id, Lines = { new ReservationLine { Sku = "PEN-1", Quantity = 2 } } };
        var refused = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition, () => system.Inventory.ReserveStockAsync(late, cancellationToken: OrdersSystem.Ct).ResponseAsync);
        Assert.Contains(refused.PreconditionViolations(), v => v.Type == "RESERVATION_RELEASED");
        Assert.Equal((10, 0), ((await system.ItemAsync("PEN-1")).Available, (await system.ItemAsync("PEN-1")).Reserved));

        // The client retrying its request now hears the order was rejected.
        var replay = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        Assert.Contains("did not confirm in time", replay.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Reconciler_gives_back_stock_reserved_for_an_order_that_never_heard_the_answer(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 10);
        system.Link.Down = true;
        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => system.PlaceAsync("req-1", "cust-1", ("PEN-1", 2)));
        var pending = Assert.Single(await system.StoredOrdersAsync("cust-1"));

        // Inventory did take the stock (the answer was lost on the way back).
        system.Link.Down = false;
        var reserve = new ReserveStockRequest { ReservationId = pending.Id, Lines = { new ReservationLine { Sku = "PEN-1", Quantity = 2 } } };
        await system.Inventory.ReserveStockAsync(reserve, cancellationToken: OrdersSystem.Ct);
        Assert.Equal(8, (await system.ItemAsync("PEN-1")).Available);

        Assert.Equal(1, await system.Reconciler.ReconcileAsync(DateTimeOffset.UtcNow.AddHours(1), OrdersSystem.Ct));

        Assert.Equal(OrderStatus.Rejected, (await system.GetAsync(pending.Id)).Status);
        Assert.Equal((10, 0), ((await system.ItemAsync("PEN-1")).Available, (await system.ItemAsync("PEN-1")).Reserved));
    }

    [Fact]
    public async Task PlaceOrder_with_invalid_fields_is_invalid_argument_naming_each_field()
    {
        await using var system = await OrdersSystem.StartAsync(DatabaseProvider.Sqlite);
        var request = OrdersSystem.PlaceOrderRequest("", "cust-1", ("PEN 1", 1), ("INK-1", 0), ("INK-1", 2));

        var ex = await RpcAssert.ThrowsAsync(StatusCode.InvalidArgument, () => system.Orders.PlaceOrderAsync(request, cancellationToken: OrdersSystem.Ct).ResponseAsync);

        Assert.Equal(["request_id", "lines[0].sku", "lines[1].quantity", "lines[2].sku"], ex.ViolatedFields());
        Assert.Empty(await system.StoredOrdersAsync("cust-1"));
    }
}
