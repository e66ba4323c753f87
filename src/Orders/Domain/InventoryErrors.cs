using Contoso.Retail.Orders.Model;

using Google.Rpc;

using Grpc.Core;

using Status = Grpc.Core.Status;

namespace Contoso.Retail.Orders.Domain;

/// <summary>How Orders reads what Inventory said when a call to it failed.</summary>
public static class InventoryErrors
{
    /// <summary>
    /// The violations Inventory listed in its google.rpc.PreconditionFailure (one per short or unknown SKU),
    /// or a single generic one if it sent none.
    /// </summary>
    public static IReadOnlyList<RejectionViolation> Violations(RpcException refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var failure = refusal.GetRpcStatus()?.GetDetail<PreconditionFailure>();
        if (failure is null || failure.Violations.Count == 0)
        {
            return [new RejectionViolation("INVENTORY_REFUSED", "", refusal.Status.Detail)];
        }

        return [.. failure.Violations.Select(v => new RejectionViolation(v.Type, v.Subject, v.Description))];
    }

    /// <summary>The reason stored on an order Inventory refused, e.g. "Inventory refused the reservation: SKU-1 (INSUFFICIENT_STOCK)".</summary>
    public static string RefusalReason(IReadOnlyList<RejectionViolation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        var subjects = string.Join(", ", violations.Select(v => string.IsNullOrEmpty(v.Subject) ? v.Type : $"{v.Subject} ({v.Type})"));
        return $"Inventory refused the reservation: {subjects}; nothing was reserved.";
    }

    /// <summary>
    /// The error for a call Inventory did not answer: DEADLINE_EXCEEDED and CANCELLED pass through
    /// (they are about the caller's own call); anything else is UNAVAILABLE, which tells the caller to retry.
    /// </summary>
    public static RpcException DidNotAnswer(RpcException failure, string message)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var code = failure.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled
            ? failure.StatusCode
            : StatusCode.Unavailable;
        return new RpcException(new Status(code, $"{message} (inventory: {failure.StatusCode})"));
    }
}
