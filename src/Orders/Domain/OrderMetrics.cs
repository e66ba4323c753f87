using System.Diagnostics.Metrics;

using Contoso.Retail.Orders.Model;

namespace Contoso.Retail.Orders.Domain;

/// <summary>
/// Placements that asked Inventory for stock (<c>orders.placed</c>, tag <c>outcome</c>: confirmed, rejected, or
/// pending when Inventory did not answer) and how long each took (<c>orders.placement.duration</c>, seconds).
/// Replays of an already settled request are not placements and are not counted.
/// </summary>
public sealed class OrderMetrics
{
    public const string MeterName = "Contoso.Retail.Orders";

    private readonly Counter<long> _placed;
    private readonly Histogram<double> _duration;

    public OrderMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _placed = meter.CreateCounter<long>("orders.placed", "{order}", "Orders placed, by outcome.");
        _duration = meter.CreateHistogram<double>("orders.placement.duration", "s", "Time to reserve an order's stock and settle it.");
    }

    public void Placed(OrderStatus outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome switch
        {
            OrderStatus.Confirmed => "confirmed",
            OrderStatus.Rejected => "rejected",
            OrderStatus.Cancelled => "cancelled",
            _ => "pending",
        });
        _placed.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
    }
}
