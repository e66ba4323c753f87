using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Errors;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Orders.Grpc;

/// <summary>
/// orders.v1.OrderService: validates, checks whose orders the caller may touch (<see cref="CustomerAccess"/>), calls the
/// domain, maps back. Activated for every call, so it leases EF Core's context only in the reads that use it.
/// </summary>
public sealed class OrderGrpcService(
    IServiceScopeFactory scopes,
    OrderPlacement placement,
    OrderCancellation cancellation) : OrderService.OrderServiceBase
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 1000;

    public override async Task<PlaceOrderResponse> PlaceOrder(PlaceOrderRequest request, ServerCallContext context)
    {
        OrderValidation.Validate(request);
        CustomerAccess.Of(context).Demand(request.CustomerId);
        var order = await placement.PlaceAsync(request.ToDomain(), context.CancellationToken);
        return new PlaceOrderResponse { Order = order.ToWire() };
    }

    public override async Task<GetOrderResponse> GetOrder(GetOrderRequest request, ServerCallContext context)
    {
        OrderValidation.Validate(request);
        var access = CustomerAccess.Of(context);
        var order = await scopes.WithContextAsync<OrdersDbContext, Model.Order?>(db => access.Filter(db.Orders).AsNoTracking()
                .Include(o => o.Lines).SingleOrDefaultAsync(o => o.Id == request.OrderId, context.CancellationToken))
            ?? throw OrderErrors.NotFound(request.OrderId);
        return new GetOrderResponse { Order = order.ToWire() };
    }

    public override async Task<ListOrdersResponse> ListOrders(ListOrdersRequest request, ServerCallContext context)
    {
        OrderValidation.Validate(request);
        CustomerAccess.Of(context).Demand(request.CustomerId);
        var pageSize = PageToken.Size(request.PageSize, DefaultPageSize, MaxPageSize);
        var after = PageToken.Decode(request.PageToken);

        // Keyset paging on the time-ordered order id: newest first, stable under concurrent inserts.
        var orders = await scopes.WithContextAsync<OrdersDbContext, List<Model.Order>>(db =>
        {
            var query = db.Orders.AsNoTracking().Where(o => o.CustomerId == request.CustomerId);
            if (after is not null)
            {
                query = query.Where(o => string.Compare(o.Id, after) < 0);
            }

            return query.OrderByDescending(o => o.Id).Take(pageSize + 1)
                .Include(o => o.Lines).AsSplitQuery()
                .ToListAsync(context.CancellationToken);
        });

        var response = new ListOrdersResponse();
        response.Orders.AddRange(orders.Take(pageSize).Select(o => o.ToWire()));
        if (orders.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(orders[pageSize - 1].Id);
        }

        return response;
    }

    public override async Task<CancelOrderResponse> CancelOrder(CancelOrderRequest request, ServerCallContext context)
    {
        OrderValidation.Validate(request);
        var order = await cancellation.CancelAsync(
            request.OrderId, request.Reason, CustomerAccess.Of(context), context.CancellationToken);
        return new CancelOrderResponse { Order = order.ToWire() };
    }
}
