namespace Contoso.Retail.Inventory.Model;

/// <summary>An item and its stock. Stock moves between <see cref="Available"/> and <see cref="Reserved"/>.</summary>
public sealed class Item
{
    public const int MaxNameLength = 200;

    public required string Sku { get; init; }

    public required string Name { get; set; }

    /// <summary>Units that can still be reserved; never negative.</summary>
    public int Available { get; set; }

    /// <summary>Units held by active reservations.</summary>
    public int Reserved { get; set; }

    /// <summary>
    /// Bumped by every write to the row, so a watcher can tell an older change from a newer one
    /// even when changes are published out of commit order.
    /// </summary>
    public long Version { get; set; }

    public DateTime UpdatedAt { get; set; }
}
