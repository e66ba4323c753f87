namespace Contoso.Retail.Orders.Model;

/// <summary>
/// An order and the rules for moving it between states. Status is the concurrency token:
/// every transition is saved as "UPDATE ... WHERE Status = &lt;what we read&gt;", so two writers racing on one
/// order (a retried PlaceOrder, a cancel, the reconciler) cannot both win.
/// </summary>
public sealed class Order
{
    /// <summary>Reason recorded when Inventory never confirmed a pending order in time.</summary>
    public const string ExpiredReason = "inventory did not confirm in time; nothing reserved";

    /// <summary>A version 7 GUID ("D" format): sorting ids sorts orders by creation time.</summary>
    public required string Id { get; init; }

    public required string RequestId { get; init; }

    public required string CustomerId { get; init; }

    public List<OrderLine> Lines { get; init; } = [];

    public OrderStatus Status { get; private set; } = OrderStatus.Pending;

    public string StatusReason { get; private set; } = "";

    /// <summary>JSON list of <see cref="RejectionViolation"/>; set only when REJECTED.</summary>
    public string? RejectionDetails { get; private set; }

    /// <summary>
    /// True while a reservation under this order's id may still be held and must be released
    /// (set when the reconciler expires a pending order, cleared once Inventory confirms the release).
    /// </summary>
    public bool ReleasePending { get; private set; }

    public DateTime CreatedAt { get; init; }

    public DateTime UpdatedAt { get; private set; }

    public static Order Create(OrderRequest request, string id, DateTime now) => new()
    {
        Id = id,
        RequestId = request.RequestId,
        CustomerId = request.CustomerId,
        Lines = [.. request.Lines.Select(l => new OrderLine { OrderId = id, Sku = l.Sku, Quantity = l.Quantity })],
        CreatedAt = now,
        UpdatedAt = now,
    };

    /// <summary>True when <paramref name="request"/> asks for exactly this order (line order does not matter).</summary>
    public bool IsSameRequest(OrderRequest request) =>
        request.CustomerId == CustomerId
        && request.Lines.Count == Lines.Count
        && request.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal)
            .SequenceEqual(Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => new RequestedLine(l.Sku, l.Quantity)));

    public IReadOnlyList<RejectionViolation> RejectionViolations => RejectionViolation.FromJson(RejectionDetails);

    public bool CanBeCancelled => Status is OrderStatus.Pending or OrderStatus.Confirmed;

    public void Confirm(DateTime now)
    {
        EnsurePending();
        Status = OrderStatus.Confirmed;
        UpdatedAt = now;
    }

    public void Reject(string reason, IReadOnlyList<RejectionViolation> violations, DateTime now)
    {
        EnsurePending();
        Status = OrderStatus.Rejected;
        StatusReason = reason;
        RejectionDetails = RejectionViolation.ToJson(violations);
        UpdatedAt = now;
    }

    public void Cancel(string reason, DateTime now)
    {
        if (!CanBeCancelled)
        {
            throw new InvalidOperationException($"Order {Id} is {Status} and cannot be cancelled.");
        }

        Status = OrderStatus.Cancelled;
        StatusReason = reason;
        UpdatedAt = now;
    }

    /// <summary>The details stored with an order the reconciler expires (see <see cref="ExpiredReason"/>).</summary>
    public static IReadOnlyList<RejectionViolation> ExpiredViolations { get; } =
        [new("RESERVATION_EXPIRED", "inventory.v1.InventoryService/ReserveStock", ExpiredReason)];

    private void EnsurePending()
    {
        if (Status != OrderStatus.Pending)
        {
            throw new InvalidOperationException($"Order {Id} is {Status}, not Pending.");
        }
    }
}
