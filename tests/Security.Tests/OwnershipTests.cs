using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Rpc;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// One customer against another's orders. A customer's token (its "sub" is the customer id) reaches only its own
/// orders: another customer's order is NOT_FOUND exactly like an unknown id (nothing about it leaks, not even that it
/// exists), and naming another customer is PERMISSION_DENIED. A token with orders.admin reaches every customer.
/// </summary>
public class OwnershipTests
{
    private static readonly string[] CustomerScopes = ["orders.read", "orders.write"];

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Another_customers_order_is_NOT_FOUND_exactly_like_an_unknown_id_and_cannot_be_cancelled(DatabaseProvider provider)
    {
        await using var system = await SecuritySystem.StartAsync(provider);
        await system.SeedAsync();
        using var alice = Customer(system, "alice");
        using var mallory = Customer(system, "mallory");
        var order = (await alice.Client.PlaceOrderAsync(Place("req-alice", "alice"), cancellationToken: Ct)).Order;
        const string unknownId = "0199a000-0000-7000-8000-00000000beef";

        var read = await RpcAssert.ThrowsAsync(StatusCode.NotFound,
            () => mallory.Client.GetOrderAsync(new GetOrderRequest { OrderId = order.OrderId }, cancellationToken: Ct).ResponseAsync);
        var unknown = await RpcAssert.ThrowsAsync(StatusCode.NotFound,
            () => mallory.Client.GetOrderAsync(new GetOrderRequest { OrderId = unknownId }, cancellationToken: Ct).ResponseAsync);
        var cancel = await RpcAssert.ThrowsAsync(StatusCode.NotFound,
            () => mallory.Client.CancelOrderAsync(new CancelOrderRequest { OrderId = order.OrderId }, cancellationToken: Ct).ResponseAsync);
        var stillHers = (await alice.Client.GetOrderAsync(new GetOrderRequest { OrderId = order.OrderId }, cancellationToken: Ct)).Order;
        SecurityFigures.Tally("auth.ownership", "another customer's order: GetOrder", read.StatusCode);
        SecurityFigures.Tally("auth.ownership", "another customer's order: CancelOrder", cancel.StatusCode);

        Assert.Equal(unknown.Status.Detail.Replace(unknownId, "<id>", StringComparison.Ordinal), read.Status.Detail.Replace(order.OrderId, "<id>", StringComparison.Ordinal));
        Assert.Equal(Details(unknown), Details(read));
        Assert.Equal(OrderStatus.Confirmed, stillHers.Status);
        Assert.Equal(1, (await system.ItemAsync("SEC-1")).Reserved);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Naming_another_customer_in_ListOrders_or_PlaceOrder_is_PERMISSION_DENIED_and_stores_nothing(DatabaseProvider provider)
    {
        await using var system = await SecuritySystem.StartAsync(provider);
        await system.SeedAsync();
        using var alice = Customer(system, "alice");
        using var mallory = Customer(system, "mallory");
        await alice.Client.PlaceOrderAsync(Place("req-alice", "alice"), cancellationToken: Ct);

        var list = await RpcAssert.ThrowsAsync(StatusCode.PermissionDenied,
            () => mallory.Client.ListOrdersAsync(new ListOrdersRequest { CustomerId = "alice" }, cancellationToken: Ct).ResponseAsync);
        var place = await RpcAssert.ThrowsAsync(StatusCode.PermissionDenied,
            () => mallory.Client.PlaceOrderAsync(Place("req-mallory-for-alice", "alice"), cancellationToken: Ct).ResponseAsync);
        var own = await mallory.Client.ListOrdersAsync(new ListOrdersRequest { CustomerId = "mallory" }, cancellationToken: Ct);
        var hers = await alice.Client.ListOrdersAsync(new ListOrdersRequest { CustomerId = "alice" }, cancellationToken: Ct);
        SecurityFigures.Tally("auth.ownership", "another customer: ListOrders", list.StatusCode);
        SecurityFigures.Tally("auth.ownership", "another customer: PlaceOrder", place.StatusCode);

        Assert.Contains("orders.admin", list.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(own.Orders);
        Assert.Equal(["req-alice"], hers.Orders.Select(o => o.RequestId));
        Assert.Equal(1, (await system.ItemAsync("SEC-1")).Reserved);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Replaying_another_customers_request_id_reveals_neither_the_order_nor_its_id(DatabaseProvider provider)
    {
        await using var system = await SecuritySystem.StartAsync(provider);
        await system.SeedAsync();
        using var alice = Customer(system, "alice");
        using var mallory = Customer(system, "mallory");
        var order = (await alice.Client.PlaceOrderAsync(Place("req-shared", "alice"), cancellationToken: Ct)).Order;

        var replay = await RpcAssert.ThrowsAsync(StatusCode.AlreadyExists,
            () => mallory.Client.PlaceOrderAsync(Place("req-shared", "mallory"), cancellationToken: Ct).ResponseAsync);
        SecurityFigures.Tally("auth.ownership", "another customer's request_id: PlaceOrder", replay.StatusCode);

        Assert.DoesNotContain(order.OrderId, replay.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(order.OrderId, replay.Trailers.GetValueBytes("grpc-status-details-bin") is { } bin
            ? Google.Rpc.Status.Parser.ParseFrom(bin).ToString() : "", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task A_token_with_orders_admin_reads_and_cancels_any_customers_order(DatabaseProvider provider)
    {
        await using var system = await SecuritySystem.StartAsync(provider);
        await system.SeedAsync();
        using var alice = Customer(system, "alice");
        using var backOffice = Customer(system, "back-office", Scopes.OrdersAdmin);
        var order = (await alice.Client.PlaceOrderAsync(Place("req-alice", "alice"), cancellationToken: Ct)).Order;

        var listed = await backOffice.Client.ListOrdersAsync(new ListOrdersRequest { CustomerId = "alice" }, cancellationToken: Ct);
        var cancelled = await backOffice.Client.CancelOrderAsync(new CancelOrderRequest { OrderId = order.OrderId, Reason = "fraud" }, cancellationToken: Ct);

        Assert.Equal([order.OrderId], listed.Orders.Select(o => o.OrderId));
        Assert.Equal(OrderStatus.Cancelled, cancelled.Order.Status);
        Assert.Equal(0, (await system.ItemAsync("SEC-1")).Reserved);
    }

    [Fact]
    public async Task A_token_without_a_subject_acts_for_no_customer()
    {
        await using var system = await SecuritySystem.StartAsync();
        using var channel = system.Orders.CreateChannel(system.Orders.MintToken(CustomerScopes, subject: ""));
        var client = new OrderService.OrderServiceClient(channel);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.PermissionDenied,
            () => client.ListOrdersAsync(new ListOrdersRequest { CustomerId = "alice" }, cancellationToken: Ct).ResponseAsync);

        Assert.Contains("names no customer", ex.Status.Detail, StringComparison.Ordinal);
    }

    private static PlaceOrderRequest Place(string requestId, string customerId) => new()
    {
        RequestId = requestId,
        CustomerId = customerId,
        Lines = { new OrderLine { Sku = "SEC-1", Quantity = 1 } },
    };

    private static string Details(RpcException ex) =>
        string.Join(",", ex.GetRpcStatus()?.Details.Select(d => d.TypeUrl) ?? []);

    private static CustomerClient Customer(SecuritySystem system, string customerId, params string[] extraScopes) =>
        new(system.Orders.CreateChannel(system.Orders.MintToken([.. CustomerScopes, .. extraScopes], subject: customerId)));

    private sealed class CustomerClient(GrpcChannel channel) : IDisposable
    {
        public OrderService.OrderServiceClient Client { get; } = new(channel);

        public void Dispose() => channel.Dispose();
    }
}
