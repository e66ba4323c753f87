using System.Diagnostics.Metrics;

using Contoso.Retail.TelemetryIngest.Domain;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>
/// Listens to one running service's point counters (its own IMeterFactory, so tests running in
/// parallel don't see each other): how a test knows the server has received or rolled back points.
/// </summary>
internal sealed class PointCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _received;
    private long _committed;
    private long _discarded;

    public PointCounters(IServiceProvider services)
    {
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TelemetryMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "telemetry.points.received":
                    Interlocked.Add(ref _received, value);
                    break;
                case "telemetry.points.committed":
                    Interlocked.Add(ref _committed, value);
                    break;
                case "telemetry.points.discarded":
                    Interlocked.Add(ref _discarded, value);
                    break;
                default:
                    break;
            }
        });
        _listener.Start();
    }

    public long Received => Interlocked.Read(ref _received);

    public long Committed => Interlocked.Read(ref _committed);

    public long Discarded => Interlocked.Read(ref _discarded);

    public void Dispose() => _listener.Dispose();
}
