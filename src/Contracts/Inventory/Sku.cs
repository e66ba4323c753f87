using System.Buffers;

namespace Contoso.Retail.Contracts.Inventory.V1;

/// <summary>
/// The inventory.v1 SKU format: 1-64 characters of A-Z, a-z, 0-9, '-', '_' or '.'.
/// Shared so every service that accepts a SKU checks it the same way.
/// </summary>
public static class Sku
{
    public const int MaxLength = 64;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <returns>Null when <paramref name="sku"/> is valid, otherwise what is wrong with it.</returns>
    public static string? Problem(string? sku)
    {
        if (string.IsNullOrEmpty(sku))
        {
            return "must not be empty";
        }

        if (sku.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        return sku.AsSpan().ContainsAnyExcept(Allowed)
            ? "may contain only A-Z, a-z, 0-9, '-', '_' and '.'"
            : null;
    }

    public static bool IsValid(string? sku) => Problem(sku) is null;
}
