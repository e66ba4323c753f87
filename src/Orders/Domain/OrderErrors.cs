using Contoso.Retail.Orders.Model;
using Contoso.Retail.ServiceDefaults.Errors;

using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.Orders.Domain;

/// <summary>The errors Orders returns about orders, with google.rpc details.</summary>
public static class OrderErrors
{
    public const string ResourceType = "orders.v1.Order";

    public static RpcException NotFound(string orderId) => RpcErrors.NotFound(ResourceType, orderId);

    /// <summary>FAILED_PRECONDITION with the violations stored when the order was rejected (the same every time it is asked).</summary>
    public static RpcException Rejected(Order order)
    {
        ArgumentNullException.ThrowIfNull(order);
        return RpcErrors.FailedPrecondition(
            $"Order {order.Id} was rejected: {order.StatusReason}",
            order.RejectionViolations.Select(v => new PreconditionFailure.Types.Violation
            {
                Type = v.Type,
                Subject = v.Subject,
                Description = v.Description,
            }));
    }

    /// <param name="customerId">The customer of the new request: another customer's order is not named.</param>
    public static RpcException RequestIdReused(Order existing, string customerId)
    {
        ArgumentNullException.ThrowIfNull(existing);
        return existing.CustomerId == customerId
            ? RpcErrors.AlreadyExists(ResourceType, existing.Id,
                $"request_id '{existing.RequestId}' was already used for order {existing.Id} with different lines.")
            : RpcErrors.AlreadyExists(ResourceType, "",
                $"request_id '{existing.RequestId}' was already used for another order; choose a new request_id.");
    }

    public static RpcException CannotCancel(Order order)
    {
        ArgumentNullException.ThrowIfNull(order);
        return RpcErrors.FailedPrecondition(
            $"Order {order.Id} is {order.Status.ToString().ToUpperInvariant()} and cannot be cancelled.",
            [new PreconditionFailure.Types.Violation
            {
                Type = "ORDER_" + order.Status.ToString().ToUpperInvariant(),
                Subject = order.Id,
                Description = "Only a pending or confirmed order can be cancelled.",
            }]);
    }
}
