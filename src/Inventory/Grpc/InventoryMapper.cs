using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Model;

using Google.Protobuf.WellKnownTypes;

using Wire = Contoso.Retail.Contracts.Inventory.V1;

namespace Contoso.Retail.Inventory.Grpc;

/// <summary>Domain to wire, one small function a message.</summary>
internal static class InventoryMapper
{
    public static Wire.Item ToWire(this Item item) => new()
    {
        Sku = item.Sku,
        Name = item.Name,
        Available = item.Available,
        Reserved = item.Reserved,
        UpdatedAt = Timestamp.FromDateTime(item.UpdatedAt),
    };

    public static Wire.StockLevel ToWire(this StockChange level) => new()
    {
        Sku = level.Sku,
        Available = level.Available,
        Reserved = level.Reserved,
        UpdatedAt = Timestamp.FromDateTime(level.UpdatedAt),
    };

    public static Wire.ReserveStockResponse ToWire(this Reservation reservation) => new()
    {
        ReservationId = reservation.ReservationId,
        Lines = { reservation.StockLines().Select(l => new Wire.ReservationLine { Sku = l.Sku, Quantity = l.Quantity }) },
        State = reservation.State.ToWire(),
        ReservedAt = Timestamp.FromDateTime(reservation.CreatedAt),
    };

    public static Wire.ReservationState ToWire(this ReservationState state) => state switch
    {
        ReservationState.Active => Wire.ReservationState.Active,
        ReservationState.Released => Wire.ReservationState.Released,
        _ => Wire.ReservationState.Unspecified,
    };

    public static List<StockLine> ToDomain(this IEnumerable<Wire.ReservationLine> lines) =>
        lines.Select(l => new StockLine(l.Sku, l.Quantity)).ToList();
}
