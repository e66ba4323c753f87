using System.Diagnostics.Metrics;

namespace Contoso.Retail.Inventory.Domain;

/// <summary>
/// ReserveStock outcomes (<c>inventory.reservations</c>, tag <c>outcome</c>: reserved, replayed - the id was
/// already stored, so the call was answered from it or refused - or rejected for short stock) and the units
/// newly taken (<c>inventory.units.reserved</c>).
/// </summary>
public sealed class InventoryMetrics
{
    public const string MeterName = "Contoso.Retail.Inventory";

    private readonly Counter<long> _reservations;
    private readonly Counter<long> _unitsReserved;

    public InventoryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _reservations = meter.CreateCounter<long>("inventory.reservations", "{reservation}", "ReserveStock calls by outcome.");
        _unitsReserved = meter.CreateCounter<long>("inventory.units.reserved", "{unit}", "Units taken from available stock by new reservations.");
    }

    public void Reserved(long units)
    {
        _reservations.Add(1, new KeyValuePair<string, object?>("outcome", "reserved"));
        _unitsReserved.Add(units);
    }

    public void Replayed() => _reservations.Add(1, new KeyValuePair<string, object?>("outcome", "replayed"));

    public void Rejected() => _reservations.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
}
