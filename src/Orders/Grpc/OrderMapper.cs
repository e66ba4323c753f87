using Contoso.Retail.Orders.Model;

using Google.Protobuf.WellKnownTypes;

using Wire = Contoso.Retail.Contracts.Orders.V1;

namespace Contoso.Retail.Orders.Grpc;

/// <summary>Translates between the wire messages and the domain.</summary>
public static class OrderMapper
{
    public static OrderRequest ToDomain(this Wire.PlaceOrderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new OrderRequest(request.RequestId, request.CustomerId,
            [.. request.Lines.Select(l => new RequestedLine(l.Sku, l.Quantity))]);
    }

    public static Wire.Order ToWire(this Order order)
    {
        ArgumentNullException.ThrowIfNull(order);
        var wire = new Wire.Order
        {
            OrderId = order.Id,
            RequestId = order.RequestId,
            CustomerId = order.CustomerId,
            Status = order.Status.ToWire(),
            StatusReason = order.StatusReason,
            CreatedAt = Timestamp.FromDateTime(order.CreatedAt),
            UpdatedAt = Timestamp.FromDateTime(order.UpdatedAt),
        };
        wire.Lines.AddRange(order.Lines
            .OrderBy(l => l.Sku, StringComparer.Ordinal)
            .Select(l => new Wire.OrderLine { Sku = l.Sku, Quantity = l.Quantity }));
        return wire;
    }

    public static Wire.OrderStatus ToWire(this OrderStatus status) => status switch
    {
        OrderStatus.Pending => Wire.OrderStatus.Pending,
        OrderStatus.Confirmed => Wire.OrderStatus.Confirmed,
        OrderStatus.Rejected => Wire.OrderStatus.Rejected,
        OrderStatus.Cancelled => Wire.OrderStatus.Cancelled,
        _ => Wire.OrderStatus.Unspecified,
    };
}
