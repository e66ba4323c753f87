namespace Contoso.Retail.Orders.Model;

/// <summary>What a customer asked for, already validated. <see cref="RequestId"/> is the idempotency key.</summary>
public sealed record OrderRequest(string RequestId, string CustomerId, IReadOnlyList<RequestedLine> Lines);

public sealed record RequestedLine(string Sku, int Quantity);
