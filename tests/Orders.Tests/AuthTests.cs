using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Orders.Tests;

/// <summary>Auth on Orders (PlaceOrder needs orders.write), and the service token Orders sends to Inventory.</summary>
public class AuthTests
{
    private static CancellationToken Ct => OrdersSystem.Ct;

    [Theory]
    [MemberData(nameof(AuthCases.Unauthenticated), MemberType = typeof(AuthCases))]
    public async Task PlaceOrder_with_unacceptable_credentials_is_unauthenticated_and_stores_nothing(string credentials)
    {
        await using var system = await OrdersSystem.StartAsync(DatabaseProvider.Sqlite);
        await system.StockAsync("KB-001", 10);
        using var channel = system.OrdersHost.CreateChannel(token: null);
        var headers = AuthCases.Headers(system.OrdersHost, credentials, "orders.write");

        var ex = await Assert.ThrowsAsync<RpcException>(() => Place(channel, headers));

        AuthCases.AssertUnauthenticated(ex, headers);
        Assert.Empty(await system.StoredOrdersAsync("cust-auth"));
        Assert.Equal(10, (await system.ItemAsync("KB-001")).Available);
    }

    [Fact]
    public async Task PlaceOrder_with_only_orders_read_is_permission_denied_naming_orders_write()
    {
        await using var system = await OrdersSystem.StartAsync(DatabaseProvider.Sqlite);
        await system.StockAsync("KB-001", 10);
        using var channel = system.OrdersHost.CreateChannel(system.OrdersHost.MintToken(["orders.read", "inventory.reserve"]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Place(channel));

        AuthCases.AssertPermissionDenied(ex, "orders.write");
        Assert.Empty(await system.StoredOrdersAsync("cust-auth"));
    }

    [Fact]
    public async Task PlaceOrder_by_a_caller_with_only_orders_write_reserves_stock_with_the_Orders_service_token()
    {
        // The caller's token could not reserve stock itself: Inventory accepts the call because Orders sends its own token.
        await using var system = await OrdersSystem.StartAsync(DatabaseProvider.Sqlite);
        await system.StockAsync("KB-001", 10);
        // A customer's own token: its subject is the customer the order is for.
        using var channel = system.OrdersHost.CreateChannel(system.OrdersHost.MintToken(["orders.write"], subject: "cust-auth"));

        var response = await Place(channel);

        Assert.Equal(OrderStatus.Confirmed, response.Order.Status);
        var item = await system.ItemAsync("KB-001");
        Assert.Equal((8, 2), (item.Available, item.Reserved));
    }

    [Fact]
    public async Task Orders_whose_service_scopes_lack_inventory_reserve_cannot_reserve_and_leaves_the_order_pending()
    {
        await using var system = await OrdersSystem.StartAsync(DatabaseProvider.Sqlite, new Dictionary<string, string?>
        {
            ["Auth:ServiceScopes"] = "inventory.read",
        });
        await system.StockAsync("KB-001", 10);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Place(system.OrdersHost.Channel));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("inventory: PermissionDenied", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(10, (await system.ItemAsync("KB-001")).Available);
    }

    private static Task<PlaceOrderResponse> Place(GrpcChannel channel, Metadata? headers = null) =>
        new OrderService.OrderServiceClient(channel).PlaceOrderAsync(
            OrdersSystem.PlaceOrderRequest("req-auth", "cust-auth", ("KB-001", 2)), headers, cancellationToken: Ct).ResponseAsync;
}
