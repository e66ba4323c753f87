using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.Orders.Grpc;
using Contoso.Retail.Orders.Model;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Orders.Tests;

/// <summary>The rules an order follows, without a host or a database.</summary>
public class OrderRulesTests
{
    private static readonly DateTime Now = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static OrderRequest Request(string customer = "cust-1", params (string Sku, int Quantity)[] lines) =>
        new("req-1", customer, [.. (lines.Length == 0 ? [("PEN-1", 1)] : lines).Select(l => new RequestedLine(l.Sku, l.Quantity))]);

    private static Order PendingOrder() => Order.Create(Request("cust-1", ("PEN-1", 2), ("INK-1", 1)), "order-1", Now);

    [Fact]
    public void Same_request_ignores_line_order()
    {
        var order = PendingOrder();

        Assert.True(order.IsSameRequest(Request("cust-1", ("INK-1", 1), ("PEN-1", 2))));
    }

    [Fact]
    public void Different_quantity_sku_or_customer_is_a_different_request()
    {
        var order = PendingOrder();

        Assert.False(order.IsSameRequest(Request("cust-1", ("PEN-1", 3), ("INK-1", 1))));
        Assert.False(order.IsSameRequest(Request("cust-1", ("PEN-1", 2))));
        Assert.False(order.IsSameRequest(Request("cust-1", ("PEN-1", 2), ("INK-2", 1))));
        Assert.False(order.IsSameRequest(Request("cust-2", ("PEN-1", 2), ("INK-1", 1))));
    }

    [Fact]
    public void A_new_order_is_pending_with_its_lines()
    {
        var order = PendingOrder();

        Assert.Equal(OrderStatus.Pending, order.Status);
        Assert.Equal([("order-1", "PEN-1", 2), ("order-1", "INK-1", 1)], order.Lines.Select(l => (l.OrderId, l.Sku, l.Quantity)));
        Assert.Equal((Now, Now), (order.CreatedAt, order.UpdatedAt));
    }

    [Fact]
    public void Only_a_pending_order_can_be_confirmed_or_rejected()
    {
        var order = PendingOrder();
        order.Confirm(Now.AddSeconds(1));

        Assert.Equal(OrderStatus.Confirmed, order.Status);
        Assert.Equal(Now.AddSeconds(1), order.UpdatedAt);
        Assert.Throws<InvalidOperationException>(() => order.Confirm(Now));
        Assert.Throws<InvalidOperationException>(() => order.Reject("no", [], Now));
    }

    [Fact]
    public void Pending_and_confirmed_orders_can_be_cancelled_rejected_ones_cannot()
    {
        var pending = PendingOrder();
        pending.Cancel("because", Now);
        Assert.Equal((OrderStatus.Cancelled, "because"), (pending.Status, pending.StatusReason));
        Assert.False(pending.CanBeCancelled);

        var confirmed = PendingOrder();
        confirmed.Confirm(Now);
        Assert.True(confirmed.CanBeCancelled);

        var rejected = PendingOrder();
        rejected.Reject("short", [new("INSUFFICIENT_STOCK", "PEN-1", "only 1 left")], Now);
        Assert.False(rejected.CanBeCancelled);
        Assert.Throws<InvalidOperationException>(() => rejected.Cancel("too late", Now));
    }

    [Fact]
    public void A_rejected_order_answers_with_the_stored_violations_every_time()
    {
        var order = PendingOrder();
        RejectionViolation[] violations = [new("INSUFFICIENT_STOCK", "PEN-1", "only 1 left"), new("UNKNOWN_SKU", "INK-1", "no such item")];
        order.Reject(InventoryErrors.RefusalReason(violations), violations, Now);

        var first = Assert.Throws<RpcException>(() => OrderPlacement.Settled(order));
        var second = Assert.Throws<RpcException>(() => OrderPlacement.Settled(order));

        Assert.Equal(StatusCode.FailedPrecondition, first.StatusCode);
        Assert.Equal(violations, order.RejectionViolations);
        Assert.Equal(["PEN-1", "INK-1"], first.PreconditionViolations().Select(v => v.Subject));
        Assert.Equal(first.PreconditionViolations(), second.PreconditionViolations());
        Assert.Equal(first.Status.Detail, second.Status.Detail);
        Assert.Contains("PEN-1 (INSUFFICIENT_STOCK)", first.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, StatusCode.Unavailable)]
    [InlineData(StatusCode.DeadlineExceeded, StatusCode.DeadlineExceeded)]
    [InlineData(StatusCode.Cancelled, StatusCode.Cancelled)]
    [InlineData(StatusCode.Internal, StatusCode.Unavailable)]
    [InlineData(StatusCode.ResourceExhausted, StatusCode.Unavailable)]
    public void Inventory_not_answering_becomes_a_retryable_status(StatusCode fromInventory, StatusCode toClient)
    {
        var ex = InventoryErrors.DidNotAnswer(new RpcException(new Status(fromInventory, "boom")), "Order x is pending.");

        Assert.Equal(toClient, ex.StatusCode);
        Assert.StartsWith("Order x is pending.", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_place_order_request_passes_validation()
    {
        OrderValidation.Validate(OrdersSystem.PlaceOrderRequest("req-1", "cust-1", ("PEN-1", 1), ("ink_2.b", 100)));
    }

    [Fact]
    public void Place_order_request_reports_every_violation_by_field_path()
    {
        var request = OrdersSystem.PlaceOrderRequest(new string('r', 129), " ", ("", 1), ("PEN-1", 0), ("PEN-1", -2), ("bad sku", 1));

        var ex = RpcAssert.Throws(StatusCode.InvalidArgument, () => OrderValidation.Validate(request));

        Assert.Equal(
            ["request_id", "customer_id", "lines[0].sku", "lines[1].quantity", "lines[2].sku", "lines[2].quantity", "lines[3].sku"],
            ex.ViolatedFields());
    }

    [Fact]
    public void Place_order_request_needs_between_one_and_a_hundred_lines()
    {
        var none = OrdersSystem.PlaceOrderRequest("req-1", "cust-1");
        Assert.Equal(["lines"], RpcAssert.Throws(StatusCode.InvalidArgument, () => OrderValidation.Validate(none)).ViolatedFields());

        var lines = Enumerable.Range(0, 101).Select(i => ($"SKU-{i}", 1)).ToArray();
        var tooMany = OrdersSystem.PlaceOrderRequest("req-1", "cust-1", lines);
        Assert.Equal(["lines"], RpcAssert.Throws(StatusCode.InvalidArgument, () => OrderValidation.Validate(tooMany)).ViolatedFields());

        OrderValidation.Validate(OrdersSystem.PlaceOrderRequest("req-1", "cust-1", lines[..100]));
    }

    [Theory]
    [InlineData("A", true)]
    [InlineData("abc-DEF_123.x", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("slash/no", false)]
    [InlineData("é", false)]
    public void Sku_format_matches_inventory(string sku, bool valid)
    {
        Assert.Equal(valid, Sku.IsValid(sku));
        Assert.True(Sku.IsValid(new string('x', 64)));
        Assert.False(Sku.IsValid(new string('x', 65)));
    }
}
