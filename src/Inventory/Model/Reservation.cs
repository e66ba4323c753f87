namespace Contoso.Retail.Inventory.Model;

public enum ReservationState
{
    Active,
    Released,
}

/// <summary>
/// Stock held for a caller. The id is chosen by the caller and is the idempotency key:
/// its primary key makes a second ReserveStock with the same id collide instead of taking stock again.
/// </summary>
public sealed class Reservation
{
    public const int MaxIdLength = 128;

    public required string ReservationId { get; init; }

    public ReservationState State { get; set; }

    public DateTime CreatedAt { get; init; }

    public DateTime? ReleasedAt { get; set; }

    public ICollection<ReservationLine> Lines { get; } = new List<ReservationLine>();

    /// <summary>An active reservation over <paramref name="lines"/>, ordered by SKU (the order rows are locked in).</summary>
    public static Reservation Create(string reservationId, IEnumerable<StockLine> lines, DateTime now)
    {
        var reservation = new Reservation { ReservationId = reservationId, State = ReservationState.Active, CreatedAt = now };
        foreach (var line in lines.OrderBy(l => l.Sku, StringComparer.Ordinal))
        {
            reservation.Lines.Add(new ReservationLine { ReservationId = reservationId, Sku = line.Sku, Quantity = line.Quantity });
        }

        return reservation;
    }

    /// <summary>
    /// A released reservation that never held stock: recorded when an unknown id is released,
    /// so a ReserveStock arriving late with that id is refused instead of taking stock nobody will release.
    /// </summary>
    public static Reservation Tombstone(string reservationId, DateTime now) =>
        new() { ReservationId = reservationId, State = ReservationState.Released, CreatedAt = now, ReleasedAt = now };

    public IEnumerable<StockLine> StockLines() =>
        Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => new StockLine(l.Sku, l.Quantity));
}

public sealed class ReservationLine
{
    public required string ReservationId { get; init; }

    public required string Sku { get; init; }

    public int Quantity { get; init; }
}

/// <summary>A quantity of one SKU, as requested or as held.</summary>
public readonly record struct StockLine(string Sku, int Quantity);
