using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// Safe retries across real services: Orders and Inventory on real Kestrel on loopback, each on its own database.
/// Inventory does the work but the answer is lost on the way back - the one failure a retry must not turn into
/// a double reservation.
/// </summary>
public class PlaceOrderRetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_whose_reservation_reply_is_lost_succeeds_by_retry_and_reserves_stock_once(DatabaseProvider provider)
    {
        var lostReply = new LoseFirstReservationReply();
        await using var system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Provider = provider,
            Inventory = new() { DefaultEndpoints = false, Configure = builder => builder.AddServerInterceptor(lostReply) },
            Orders = new() { DefaultEndpoints = false, Settings = { ["GrpcClients:Retry:BaseDelay"] = "00:00:00.010" } },
        });

        var inventoryClient = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
        await inventoryClient.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 10 }, cancellationToken: Ct);

        var order = (await new OrderService.OrderServiceClient(system.Orders.Channel).PlaceOrderAsync(
            new PlaceOrderRequest { RequestId = "req-1", CustomerId = "cust-1", Lines = { new OrderLine { Sku = "KB-001", Quantity = 2 } } },
            cancellationToken: Ct)).Order;

        Assert.Equal(OrderStatus.Confirmed, order.Status);
        Assert.Equal(2, lostReply.Reservations);
        var item = (await inventoryClient.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct)).Item;
        Assert.Equal((8, 2), (item.Available, item.Reserved));
    }
}

/// <summary>
/// A server interceptor in Inventory that lets the first ReserveStock do its work and commit, then answers
/// UNAVAILABLE instead of the reply: a reply lost on the network. Counts the ReserveStock calls that arrive.
/// </summary>
file sealed class LoseFirstReservationReply : Interceptor
{
    private int _reservations;

    public int Reservations => Volatile.Read(ref _reservations);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        return request is ReserveStockRequest && Interlocked.Increment(ref _reservations) == 1
            ? throw new RpcException(new Status(StatusCode.Unavailable, "The reply was lost on the way back (test)."))
            : response;
    }
}
