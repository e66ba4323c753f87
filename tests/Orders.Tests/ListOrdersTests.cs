using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Orders.Tests;

public class ListOrdersTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ListOrders_pages_through_one_customers_orders_newest_first(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);
        await system.StockAsync("PEN-1", 100);
        var placed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            placed.Add((await system.PlaceAsync($"req-{i}", "cust-1", ("PEN-1", 1))).OrderId);
        }

        await system.PlaceAsync("req-other", "cust-2", ("PEN-1", 1));

        var pages = new List<List<string>>();
        var token = "";
        do
        {
            var page = await system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1", PageSize = 2, PageToken = token }, cancellationToken: OrdersSystem.Ct);
            pages.Add([.. page.Orders.Select(o => o.OrderId)]);
            Assert.All(page.Orders, o => Assert.Equal("cust-1", o.CustomerId));
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal([2, 2, 1], pages.Select(p => p.Count));
        // Order ids are version 7 GUIDs: newest first is descending id order.
        Assert.Equal(placed.Order(StringComparer.Ordinal).Reverse(), pages.SelectMany(p => p));

        var all = await system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1" }, cancellationToken: OrdersSystem.Ct);
        Assert.Equal(5, all.Orders.Count);
        Assert.Equal("", all.NextPageToken);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ListOrders_rejects_a_bad_page_token_size_or_missing_customer(DatabaseProvider provider)
    {
        await using var system = await OrdersSystem.StartAsync(provider);

        var badToken = await RpcAssert.ThrowsAsync(StatusCode.InvalidArgument,
            () => system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1", PageToken = "not-a-token" }, cancellationToken: OrdersSystem.Ct).ResponseAsync);
        Assert.Equal(["page_token"], badToken.ViolatedFields());

        var badSize = await RpcAssert.ThrowsAsync(StatusCode.InvalidArgument,
            () => system.Orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = "cust-1", PageSize = 1001 }, cancellationToken: OrdersSystem.Ct).ResponseAsync);
        Assert.Equal(["page_size"], badSize.ViolatedFields());

        var noCustomer = await RpcAssert.ThrowsAsync(StatusCode.InvalidArgument,
            () => system.Orders.ListOrdersAsync(new ListOrdersRequest(), cancellationToken: OrdersSystem.Ct).ResponseAsync);
        Assert.Equal(["customer_id"], noCustomer.ViolatedFields());
    }
}
