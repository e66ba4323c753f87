using System.Collections.Concurrent;
using System.Text.Json;

namespace Contoso.Retail.LoadGen;

/// <summary>Units per SKU of the orders a place-order run saw confirmed, and of the calls it got no answer for.</summary>
public sealed class PlaceOrderLedger
{
    public ConcurrentDictionary<string, long> Acknowledged { get; init; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> Unanswered { get; init; } = new(StringComparer.Ordinal);

    public static PlaceOrderLedger Read(string path) =>
        JsonSerializer.Deserialize<PlaceOrderLedger>(File.ReadAllText(path)) ?? new PlaceOrderLedger();

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this));

    public void Add(PlaceOrderLedger other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (sku, units) in other.Acknowledged)
        {
            Acknowledged.AddOrUpdate(sku, units, (_, current) => current + units);
        }

        foreach (var (sku, units) in other.Unanswered)
        {
            Unanswered.AddOrUpdate(sku, units, (_, current) => current + units);
        }
    }
}
