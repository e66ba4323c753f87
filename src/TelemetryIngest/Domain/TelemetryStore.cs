using System.Runtime.CompilerServices;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Model;

namespace Contoso.Retail.TelemetryIngest.Domain;

/// <summary>
/// Writes points in transactions (see <see cref="BatchWriter"/> for StreamIngest batches) and reads them back by time
/// range. A singleton: only a transaction leases one of EF Core's pooled contexts, for as long as it lasts, so the
/// calls that take no transaction (a StreamIngest stream, a Query) hold none.
/// </summary>
public sealed class TelemetryStore(IServiceScopeFactory scopes, DatabaseSettings database, ReadConnections reads, TelemetryMetrics metrics)
{
    /// <summary>Starts a transaction to append points to; dispose it without committing to roll back.</summary>
    public Task<PointTransaction> BeginAsync(CancellationToken cancellationToken) =>
        PointTransaction.BeginAsync(scopes, database.Provider, metrics, cancellationToken);

    /// <summary>
    /// Points of a device (and metric, unless empty) in [start, end), by time then insertion, read on a prepared
    /// statement (EF Core's per-row materialisation was most of a Query's cost); limit 0 means all.
    /// </summary>
    public async IAsyncEnumerable<TelemetryPoint> Query(
        string deviceId, string? metric, DateTime start, DateTime end, int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var lease = await reads.RentAsync("SELECT points", cancellationToken);
        var command = lease.Connection.Command(QuerySql, "@device", "@metric", "@start", "@end", "@limit");
        command.Parameters[0].Value = deviceId;
        command.Parameters[1].Value = metric ?? "";
        command.Parameters[2].Value = start;
        command.Parameters[3].Value = end;
        command.Parameters[4].Value = limit > 0 ? limit : long.MaxValue;
        await using (var reader = await lease.Connection.ExecuteReaderAsync(command, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                yield return new TelemetryPoint
                {
                    DeviceId = reader.GetString(0),
                    Metric = reader.GetString(1),
                    Timestamp = StorageTime.AsUtc(reader.GetDateTime(2)),
                    Value = reader.GetDouble(3),
                    Labels = reader.IsDBNull(4) ? null : reader.GetString(4),
                };
            }
        }

        lease.Completed();
    }

    private const string QuerySql =
        "SELECT device_id, metric, \"timestamp\", value, labels FROM points " +
        "WHERE device_id = @device AND \"timestamp\" >= @start AND \"timestamp\" < @end AND (@metric = '' OR metric = @metric) " +
        "ORDER BY \"timestamp\", id LIMIT @limit";
}
