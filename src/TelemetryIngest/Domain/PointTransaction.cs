using System.Data.Common;
using System.Globalization;
using System.Text;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;
using Contoso.Retail.TelemetryIngest.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TelemetryIngest.Domain;

/// <summary>
/// One database transaction that points are appended to, on an EF Core context leased for it alone. Nothing is
/// visible to anyone until <see cref="CommitAsync"/>; disposing without committing rolls everything back.
/// </summary>
public sealed class PointTransaction : IAsyncDisposable
{
    private readonly AsyncServiceScope _lease;
    private readonly TelemetryDbContext _db;
    private readonly DatabaseProvider _provider;
    private readonly IDbContextTransaction _transaction;
    private readonly TelemetryMetrics _metrics;
    private PointWriter? _writer;
    private bool _committed;

    private PointTransaction(
        AsyncServiceScope lease, TelemetryDbContext db, DatabaseProvider provider, IDbContextTransaction transaction, TelemetryMetrics metrics)
    {
        _lease = lease;
        _db = db;
        _provider = provider;
        _transaction = transaction;
        _metrics = metrics;
    }

    /// <summary>Points written so far.</summary>
    public long Points { get; private set; }

    /// <summary>Leases a context from a scope of its own, given back when the transaction is disposed, and begins.</summary>
    public static async Task<PointTransaction> BeginAsync(
        IServiceScopeFactory scopes, DatabaseProvider provider, TelemetryMetrics metrics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var lease = scopes.CreateAsyncScope();
        try
        {
            var db = lease.ServiceProvider.GetRequiredService<TelemetryDbContext>();
            // On SQLite this is BEGIN IMMEDIATE: the write lock is taken up front, so no read-then-write upgrade.
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            return new PointTransaction(lease, db, provider, transaction, metrics);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Records each batch id as committed with its point count, in one statement, before any point is written.
    /// Returns the ids that were committed before, with the point count of that earlier commit (a concurrent
    /// transaction claiming the same id makes this wait until it commits or rolls back). Ids must be distinct.
    /// </summary>
    public async Task<Dictionary<string, int>> ClaimBatchesAsync(
        IReadOnlyList<(string BatchId, int Points)> batches, DateTime committedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (_writer is not null)
        {
            throw new InvalidOperationException("Claim the batches before writing their points.");
        }

        // Plain ADO.NET on the transaction's connection: one round trip, and none of EF Core's per-command work.
        // The same SQL runs on PostgreSQL and SQLite (3.35+ for RETURNING).
        var connection = _db.Database.GetDbConnection();
        var transaction = _transaction.GetDbTransaction();
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            var sql = new StringBuilder("INSERT INTO ingested_batches (batch_id, points, committed_at) VALUES ");
            AddParameter(insert, "@at", committedAt);
            for (var i = 0; i < batches.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@id{i}, @n{i}, @at)");
                AddParameter(insert, $"@id{i}", batches[i].BatchId);
                AddParameter(insert, $"@n{i}", batches[i].Points);
            }

            insert.CommandText = sql.Append(" ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id").ToString();
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add(reader.GetString(0));
            }
        }

        var earlier = new Dictionary<string, int>(StringComparer.Ordinal);
        if (inserted.Count == batches.Count)
        {
            return earlier;
        }

        var resent = batches.Select(b => b.BatchId).Where(id => !inserted.Contains(id)).ToList();
        var storedBatches = await _db.IngestedBatches
            .Where(b => resent.Contains(b.BatchId))
            .Select(b => new { b.BatchId, b.Points })
            .ToListAsync(cancellationToken);
        foreach (var stored in storedBatches)
        {
            earlier[stored.BatchId] = stored.Points;
        }

        return earlier;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
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
            try
            {
                // Rolls back unless committed.
                await _transaction.DisposeAsync();
                if (!_committed && Points > 0)
                {
                    _metrics.Discarded(Points);
                }
            }
            finally
            {
                await _lease.DisposeAsync();
            }
        }
    }
}
