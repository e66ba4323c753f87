using System.Text.Json;

namespace Contoso.Retail.Orders.Model;

/// <summary>
/// One reason an order was rejected, shaped like a google.rpc.PreconditionFailure violation
/// (e.g. INSUFFICIENT_STOCK for a SKU), kept so a replayed request gets the same error details.
/// </summary>
public sealed record RejectionViolation(string Type, string Subject, string Description)
{
    public static string ToJson(IReadOnlyList<RejectionViolation> violations) =>
        JsonSerializer.Serialize(violations);

    public static IReadOnlyList<RejectionViolation> FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<RejectionViolation>>(json) ?? [];
}
