using Contoso.Retail.Contracts.Telemetry.V1;

using Google.Protobuf.WellKnownTypes;

namespace Contoso.Retail.Cli;

/// <summary>Plausible-looking readings for `telemetry send` (and the DevHost demo): a slow wave with a little ripple.</summary>
public static class SimulatedDevice
{
    /// <summary>Batches with ids "&lt;device&gt;-&lt;seq&gt;"; points are <paramref name="interval"/> apart, the last at <paramref name="end"/>.</summary>
    public static IReadOnlyList<StreamIngestRequest> Batches(
        string deviceId, string metric, int points, int batchSize, long firstSequence, TimeSpan interval, DateTime end)
    {
        var start = end - (interval * (points - 1));
        var phase = deviceId.Sum(c => c) % 10 / 1.5;
        var all = Enumerable.Range(0, points).Select(i => new Point
        {
            DeviceId = deviceId,
            Metric = metric,
            Timestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(start + (interval * i), DateTimeKind.Utc)),
            Value = Math.Round(20 + (5 * Math.Sin((i / 20.0) + phase)) + ((i % 7) * 0.1), 3),
            Labels = { ["source"] = "simulator" },
        });

        return all.Chunk(batchSize)
            .Select((chunk, index) => new StreamIngestRequest { BatchId = $"{deviceId}-{firstSequence + index}", Points = { chunk } })
            .ToList();
    }
}
