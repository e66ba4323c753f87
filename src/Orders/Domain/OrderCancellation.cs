using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Model;
using Contoso.Retail.ServiceDefaults.Data;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Orders.Domain;

/// <summary>
/// Cancels an order: release its reservation in Inventory first (idempotent; for a pending order it also
/// stops a late reservation from taking stock), then mark it CANCELLED. If the release fails, the order
/// is left as it was and the caller may retry.
/// </summary>
public sealed class OrderCancellation(
    IServiceScopeFactory scopes,
    InventoryService.InventoryServiceClient inventory,
    TimeProvider clock)
{
    public const string DefaultReason = "cancelled by request";

    /// <exception cref="RpcException">
    /// NOT_FOUND (also for another customer's order when <paramref name="access"/> is one customer's),
    /// FAILED_PRECONDITION (the order was rejected), UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED
    /// (Inventory did not answer; nothing changed).
    /// </exception>
    public Task<Order> CancelAsync(string orderId, string? reason, CustomerAccess access, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        return scopes.WithContextAsync<OrdersDbContext, Order>(db => CancelAsync(db, orderId, reason, access, cancellationToken));
    }

    private async Task<Order> CancelAsync(
        OrdersDbContext db, string orderId, string? reason, CustomerAccess access, CancellationToken cancellationToken)
    {
        var order = await access.Filter(db.Orders).Include(o => o.Lines).SingleOrDefaultAsync(o => o.Id == orderId, cancellationToken)
            ?? throw OrderErrors.NotFound(orderId);

        if (order.Status == OrderStatus.Cancelled)
        {
            return order;
        }

        if (!order.CanBeCancelled)
        {
            throw OrderErrors.CannotCancel(order);
        }

        try
        {
            await inventory.ReleaseReservationAsync(
                new ReleaseReservationRequest { ReservationId = order.Id }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex)
        {
            throw InventoryErrors.DidNotAnswer(ex,
                $"Order {order.Id} was not cancelled: its stock could not be released. Retry the cancel.");
        }

        order.Cancel(string.IsNullOrWhiteSpace(reason) ? DefaultReason : reason.Trim(), clock.UtcNowForStorage());
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return order;
        }
        catch (DbUpdateConcurrencyException)
        {
            // Someone moved it while we released: confirmed -> try again; cancelled -> done; rejected -> refuse.
            db.ChangeTracker.Clear();
            return await CancelAsync(db, orderId, reason, access, cancellationToken);
        }
    }
}
