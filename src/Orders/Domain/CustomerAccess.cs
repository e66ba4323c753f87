using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Orders.Model;
using Contoso.Retail.ServiceDefaults;

using Grpc.Core;

namespace Contoso.Retail.Orders.Domain;

/// <summary>
/// Whose orders a caller may touch: a customer's token only its own, <see cref="Scopes.OrdersAdmin"/> everyone's.
/// Another customer's order is NOT_FOUND, like an unknown id, so order ids reveal nothing.
/// </summary>
public sealed class CustomerAccess
{
    private CustomerAccess(string? customerId) => CustomerId = customerId;

    /// <summary>Every customer (the caller has <see cref="Scopes.OrdersAdmin"/>).</summary>
    public static CustomerAccess AllCustomers { get; } = new(null);

    /// <summary>The one customer the caller may act for; null when it may act for every customer.</summary>
    public string? CustomerId { get; }

    public static CustomerAccess Only(string customerId) => new(customerId);

    /// <summary>What the authenticated caller of this call may do.</summary>
    /// <exception cref="RpcException">UNAUTHENTICATED when the call has no authenticated caller (fail closed).</exception>
    public static CustomerAccess Of(ServerCallContext context)
    {
        var caller = context.Caller()
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "A bearer token is required."));
        if (caller.HasScope(Scopes.OrdersAdmin))
        {
            return AllCustomers;
        }

        return caller.Subject is { Length: > 0 } subject
            ? Only(subject)
            : throw new RpcException(new Status(StatusCode.PermissionDenied, "The token names no customer (no 'sub' claim)."));
    }

    public bool Allows(string customerId) => CustomerId is null || CustomerId == customerId;

    /// <summary>Only the orders the caller may see: filtering in the query, so another customer's order is simply not found.</summary>
    public IQueryable<Order> Filter(IQueryable<Order> orders) =>
        CustomerId is { } customerId ? orders.Where(o => o.CustomerId == customerId) : orders;

    /// <exception cref="RpcException">PERMISSION_DENIED when the caller may not act for <paramref name="customerId"/>.</exception>
    public void Demand(string customerId)
    {
        if (!Allows(customerId))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"This token acts for customer '{CustomerId}' only; acting for another customer requires the scope '{Scopes.OrdersAdmin}'."));
        }
    }
}
