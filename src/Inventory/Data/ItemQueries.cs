using System.Data.Common;

using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Data;

namespace Contoso.Retail.Inventory.Data;

/// <summary>GetItem's read on a prepared statement rather than an EF Core query: it is the hottest call in the system.</summary>
public static class ItemQueries
{
    private const string BySku = "SELECT sku, name, available, reserved, version, updated_at FROM items WHERE sku = @sku";

    public static Task<Item?> FindItemAsync(this ReadConnections reads, string sku, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reads);
        return reads.ReadAsync("SELECT items", sku, static async (connection, sku, cancellationToken) =>
        {
            var command = connection.Command(BySku, "@sku");
            command.Parameters[0].Value = sku;
            await using var reader = await connection.ExecuteReaderAsync(command, cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadItem(reader) : null;
        }, cancellationToken);
    }

    private static Item ReadItem(DbDataReader row) => new()
    {
        Sku = row.GetString(0),
        Name = row.GetString(1),
        Available = row.GetInt32(2),
        Reserved = row.GetInt32(3),
        Version = row.GetInt64(4),
        UpdatedAt = StorageTime.AsUtc(row.GetDateTime(5)),
    };
}
