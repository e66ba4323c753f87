using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.TelemetryIngest.Ingestion;

/// <summary>Outcome of storing a StreamIngest batch.</summary>
public readonly record struct StoredBatch(int Points, bool Duplicate);

/// <summary>Writes points in transactions and reads them back by time range.</summary>
public sealed class TelemetryStore(TelemetryDbContext db, DatabaseSettings database, TelemetryMetrics metrics, TimeProvider time)
{
    /// <summary>Starts a transaction to append points to; dispose it without committing to roll back.</summary>
    public Task<PointTransaction> BeginAsync(CancellationToken cancellationToken) =>
        PointTransaction.BeginAsync(db, database.Provider, metrics, cancellationToken);

    /// <summary>
    /// Stores a batch exactly once: its id is recorded first, in the same transaction as its points,
    /// so a batch id already committed writes nothing and reports the earlier count as a duplicate.
    /// Returns once the batch is committed.
    /// </summary>
    public async Task<StoredBatch> StoreBatchAsync(string batchId, IReadOnlyCollection<TelemetryPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        await using var transaction = await BeginAsync(cancellationToken);
        var earlier = await transaction.ClaimBatchAsync(batchId, points.Count, time.GetUtcNow().UtcDateTime, cancellationToken);
        if (earlier is { } storedPoints)
        {
            return new StoredBatch(storedPoints, Duplicate: true);
        }

        await transaction.WriteAsync(points, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new StoredBatch(points.Count, Duplicate: false);
    }

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
