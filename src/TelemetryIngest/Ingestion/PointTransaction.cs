using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Contoso.Retail.TelemetryIngest.Ingestion;

/// <summary>
/// One database transaction that points are appended to. Nothing is visible to anyone until
/// <see cref="CommitAsync"/>; disposing without committing rolls everything back.
/// </summary>
public sealed class PointTransaction : IAsyncDisposable
{
    private readonly TelemetryDbContext _db;
    private readonly DatabaseProvider _provider;
    private readonly IDbContextTransaction _transaction;
    private readonly TelemetryMetrics _metrics;
    private PointWriter? _writer;
    private bool _committed;

    private PointTransaction(TelemetryDbContext db, DatabaseProvider provider, IDbContextTransaction transaction, TelemetryMetrics metrics)
    {
        _db = db;
        _provider = provider;
        _transaction = transaction;
        _metrics = metrics;
    }

    /// <summary>Points written so far.</summary>
    public long Points { get; private set; }

    public static async Task<PointTransaction> BeginAsync(
        TelemetryDbContext db, DatabaseProvider provider, TelemetryMetrics metrics, CancellationToken cancellationToken)
    {
        // On SQLite this is BEGIN IMMEDIATE: the write lock is taken up front, so no read-then-write upgrade.
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        return new PointTransaction(db, provider, transaction, metrics);
    }

    /// <summary>
    /// Records <paramref name="batchId"/> as committed with <paramref name="points"/> points, before
    /// any point is written. Returns null if it is new, else the point count of the earlier commit
    /// (a concurrent send of the same batch waits here until the first one commits or rolls back).
    /// </summary>
    public async Task<int?> ClaimBatchAsync(string batchId, int points, DateTime committedAt, CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            throw new InvalidOperationException("Claim the batch before writing its points.");
        }

        var inserted = await _db.Database.ExecuteSqlAsync(
            $"INSERT INTO ingested_batches (batch_id, points, committed_at) VALUES ({batchId}, {points}, {committedAt}) ON CONFLICT (batch_id) DO NOTHING",
            cancellationToken);
        if (inserted == 1)
        {
            return null;
        }

        return await _db.IngestedBatches.Where(b => b.BatchId == batchId).Select(b => b.Points).SingleAsync(cancellationToken);
    }

    public async Task WriteAsync(IEnumerable<TelemetryPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        _writer ??= await PointWriter.StartAsync(_db, _provider, cancellationToken);
        var written = 0;
        foreach (var point in points)
        {
            await _writer.WriteAsync(point, cancellationToken);
            written++;
        }

        Points += written;
        _metrics.Received(written);
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            await _writer.CompleteAsync(cancellationToken);
        }

        await _transaction.CommitAsync(cancellationToken);
        _committed = true;
        _metrics.Committed(Points);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_writer is not null)
            {
                await _writer.DisposeAsync();
            }
        }
        finally
        {
            // Rolls back unless committed.
            await _transaction.DisposeAsync();
            if (!_committed && Points > 0)
            {
                _metrics.Discarded(Points);
            }
        }
    }
}
