using System.Diagnostics.Metrics;

namespace Contoso.Retail.TelemetryIngest.Domain;

/// <summary>
/// Points through the write path: received (written into an open transaction), committed
/// (acknowledged to the client) and discarded (rolled back because the call or batch failed).
/// </summary>
public sealed class TelemetryMetrics
{
    public const string MeterName = "Contoso.Retail.TelemetryIngest";

    private readonly Counter<long> _received;
    private readonly Counter<long> _committed;
    private readonly Counter<long> _discarded;
    private readonly Histogram<int> _groupBatches;

    public TelemetryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("telemetry.points.received", "{point}", "Points written into an open transaction.");
        _committed = meter.CreateCounter<long>("telemetry.points.committed", "{point}", "Points committed and acknowledged.");
        _discarded = meter.CreateCounter<long>("telemetry.points.discarded", "{point}", "Points rolled back because their call or batch failed.");
        _groupBatches = meter.CreateHistogram<int>(
            "telemetry.commit.batches", "{batch}", "New StreamIngest batches written by one group commit.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
    }

    public void Received(long points) => _received.Add(points);

    public void Committed(long points) => _committed.Add(points);

    public void Discarded(long points) => _discarded.Add(points);

    public void GroupCommitted(int batches) => _groupBatches.Record(batches);
}
