using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.TelemetryIngest.Ingestion;

/// <summary>Writes points in transactions (see <see cref="BatchWriter"/> for StreamIngest batches) and reads them back by time range.</summary>
public sealed class TelemetryStore(TelemetryDbContext db, DatabaseSettings database, TelemetryMetrics metrics)
{
    /// <summary>Starts a transaction to append points to; dispose it without committing to roll back.</summary>
    public Task<PointTransaction> BeginAsync(CancellationToken cancellationToken) =>
        PointTransaction.BeginAsync(db, database.Provider, metrics, cancellationToken);

    /// <summary>
    /// The points of <paramref name="deviceId"/> (and <paramref name="metric"/>, unless empty) in
    /// [<paramref name="start"/>, <paramref name="end"/>), by time then insertion order, streamed from
    /// the database; <paramref name="limit"/> 0 means all.
    /// </summary>
    public IAsyncEnumerable<TelemetryPoint> Query(string deviceId, string? metric, DateTime start, DateTime end, int limit)
    {
        var points = db.Points.AsNoTracking()
            .Where(p => p.DeviceId == deviceId && p.Timestamp >= start && p.Timestamp < end);
        if (!string.IsNullOrEmpty(metric))
        {
            points = points.Where(p => p.Metric == metric);
        }

        var ordered = points.OrderBy(p => p.Timestamp).ThenBy(p => p.Id);
        return (limit > 0 ? ordered.Take(limit) : ordered).AsAsyncEnumerable();
    }
}
