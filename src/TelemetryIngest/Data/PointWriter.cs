using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Model;

using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

using Npgsql;

using NpgsqlTypes;

namespace Contoso.Retail.TelemetryIngest.Data;

/// <summary>
/// Appends points in the current transaction: PostgreSQL binary COPY, or a prepared INSERT per row on SQLite.
/// The connection is busy until <see cref="CompleteAsync"/>; disposing without it abandons the rows.
/// </summary>
public abstract class PointWriter : IAsyncDisposable
{
    public static async Task<PointWriter> StartAsync(TelemetryDbContext db, DatabaseProvider provider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Begin a transaction on the context before writing points.");

        return provider switch
        {
            DatabaseProvider.Postgres => await PostgresPointWriter.StartAsync((NpgsqlConnection)transaction.Connection!, cancellationToken),
            _ => SqlitePointWriter.Start((SqliteConnection)transaction.Connection!, (SqliteTransaction)transaction),
        };
    }

    public abstract ValueTask WriteAsync(TelemetryPoint point, CancellationToken cancellationToken);

    /// <summary>Finishes the write so the transaction can run other commands or commit.</summary>
    public abstract ValueTask CompleteAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    private sealed class PostgresPointWriter(NpgsqlBinaryImporter importer) : PointWriter
    {
        private const string Copy = "COPY points (device_id, metric, timestamp, value, labels) FROM STDIN (FORMAT BINARY)";

        public static async Task<PointWriter> StartAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
            new PostgresPointWriter(await connection.BeginBinaryImportAsync(Copy, cancellationToken));

        public override async ValueTask WriteAsync(TelemetryPoint point, CancellationToken cancellationToken)
        {
            await importer.StartRowAsync(cancellationToken);
            await importer.WriteAsync(point.DeviceId, NpgsqlDbType.Varchar, cancellationToken);
            await importer.WriteAsync(point.Metric, NpgsqlDbType.Varchar, cancellationToken);
            await importer.WriteAsync(point.Timestamp, NpgsqlDbType.TimestampTz, cancellationToken);
            await importer.WriteAsync(point.Value, NpgsqlDbType.Double, cancellationToken);
            if (point.Labels is null)
            {
                await importer.WriteNullAsync(cancellationToken);
            }
            else
            {
                await importer.WriteAsync(point.Labels, NpgsqlDbType.Jsonb, cancellationToken);
            }
        }

        public override async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            await importer.CompleteAsync(cancellationToken);
            await importer.CloseAsync(cancellationToken);
        }

        // Without CompleteAsync this cancels the COPY: nothing written reaches the table.
        public override ValueTask DisposeAsync() => importer.DisposeAsync();
    }

    private sealed class SqlitePointWriter(SqliteCommand insert) : PointWriter
    {
        private const string Insert =
            "INSERT INTO points (device_id, metric, timestamp, value, labels) VALUES ($device_id, $metric, $timestamp, $value, $labels)";

        public static SqlitePointWriter Start(SqliteConnection connection, SqliteTransaction transaction)
        {
            var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = Insert;
            insert.Parameters.Add("$device_id", SqliteType.Text);
            insert.Parameters.Add("$metric", SqliteType.Text);
            // Bound as DateTime: Microsoft.Data.Sqlite writes the same text format EF Core reads and compares.
            insert.Parameters.Add("$timestamp", SqliteType.Text);
            insert.Parameters.Add("$value", SqliteType.Real);
            insert.Parameters.Add("$labels", SqliteType.Text);
            insert.Prepare();
            return new SqlitePointWriter(insert);
        }

        public override async ValueTask WriteAsync(TelemetryPoint point, CancellationToken cancellationToken)
        {
            var parameters = insert.Parameters;
            parameters[0].Value = point.DeviceId;
            parameters[1].Value = point.Metric;
            parameters[2].Value = point.Timestamp;
            parameters[3].Value = point.Value;
            parameters[4].Value = (object?)point.Labels ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // Rows are already in the transaction; the commit (or rollback) decides.
        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask DisposeAsync() => insert.DisposeAsync();
    }
}
