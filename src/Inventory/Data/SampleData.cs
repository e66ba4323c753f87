using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Data;

/// <summary>A small catalog for trying the system out (Inventory:SeedSampleData); one item is nearly sold out.</summary>
public static class SampleData
{
    public static IReadOnlyList<(string Sku, string Name, int Available)> Items { get; } =
    [
        ("KB-001", "Mechanical keyboard", 50),
        ("MS-002", "Wireless mouse", 120),
        ("MN-003", "27-inch 4K monitor", 15),
        ("HS-004", "Noise-cancelling headset", 40),
        ("CB-005", "USB-C cable, 2 m", 300),
        ("DK-006", "Thunderbolt docking station", 3),
        ("WC-007", "1080p webcam", 25),
        ("LS-008", "Aluminium laptop stand", 60),
    ];

    /// <summary>Whether the catalog holds any item, read without EF Core (no model needed).</summary>
    public static Task<bool> AnyItemsAsync(ReadConnections reads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reads);
        return reads.ReadAsync("SELECT items (any)", 0, static async (connection, _, cancellationToken) =>
        {
            await using var reader = await connection.ExecuteReaderAsync(connection.Command("SELECT 1 FROM items LIMIT 1"), cancellationToken);
            return await reader.ReadAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Adds the sample items when there are no items at all; does nothing otherwise.</summary>
    public static async Task SeedAsync(InventoryDbContext db, TimeProvider time, CancellationToken cancellationToken = default)
    {
        if (await db.Items.AnyAsync(cancellationToken))
        {
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        db.Items.AddRange(Items.Select(i => new Item { Sku = i.Sku, Name = i.Name, Available = i.Available, Version = 1, UpdatedAt = now }));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // Another replica seeded at the same time; its items stand.
            db.ChangeTracker.Clear();
        }
    }
}
