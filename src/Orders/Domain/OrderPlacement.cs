using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Model;
using Contoso.Retail.ServiceDefaults.Data;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Orders.Domain;

/// <summary>
/// Places an order idempotently by request id: saved PENDING, stock reserved in Inventory under the order id, then
/// CONFIRMED or REJECTED. If Inventory does not answer it stays PENDING for a retry or <see cref="PendingOrderReconciler"/>.
/// Writes go through the group commit in plain SQL; EF Core's context is leased only for the rare reads (a request id
/// seen before, an order another writer moved first), not on every call.
/// </summary>
public sealed class OrderPlacement(
    IServiceScopeFactory scopes,
    GroupCommit<OrdersDbContext> writes,
    InventoryService.InventoryServiceClient inventory,
    TimeProvider clock,
    OrderMetrics metrics)
{
    /// <exception cref="RpcException">
    /// ALREADY_EXISTS (request id reused for a different order), FAILED_PRECONDITION (rejected; details name the SKUs),
    /// UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED (Inventory did not answer; the order is pending).
    /// </exception>
    public async Task<Order> PlaceAsync(OrderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var order = await FindOrCreateAsync(request, cancellationToken);
        return order.Status == OrderStatus.Pending
            ? await ReserveMeasuredAsync(order, cancellationToken)
            : Settled(order);
    }

    /// <summary>The answer for an order that is no longer pending.</summary>
    public static Order Settled(Order order)
    {
        ArgumentNullException.ThrowIfNull(order);
        return order.Status == OrderStatus.Rejected ? throw OrderErrors.Rejected(order) : order;
    }

    private async Task<Order> FindOrCreateAsync(OrderRequest request, CancellationToken cancellationToken)
    {
        // Insert first: the row (unique request id) is what makes concurrent duplicates converge on one order, and a
        // new order - the common case - then costs no read before its write. A request id already stored inserts nothing.
        var now = clock.UtcNowForStorage();
        var order = Order.Create(request, Guid.CreateVersion7(clock.GetUtcNow()).ToString("D"), now);
        if (await writes.RunCommandAsync(unit => TryInsertAsync(unit, order), cancellationToken))
        {
            return order;
        }

        var existing = await FindByRequestAsync(request.RequestId, cancellationToken)
            ?? throw new InvalidOperationException($"Request {request.RequestId} collided but its order cannot be read.");
        return SameRequestOrThrow(existing, request);
    }

    private async Task<Order> ReserveMeasuredAsync(Order order, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        try
        {
            var settled = await ReserveAsync(order, cancellationToken);
            metrics.Placed(settled.Status, clock.GetElapsedTime(started));
            return settled;
        }
        catch (Exception ex)
        {
            // A rejection is thrown as FAILED_PRECONDITION; anything else leaves the order pending.
            var outcome = ex is RpcException { StatusCode: StatusCode.FailedPrecondition } ? OrderStatus.Rejected : OrderStatus.Pending;
            metrics.Placed(outcome, clock.GetElapsedTime(started));
            throw;
        }
    }

    private async Task<Order> ReserveAsync(Order order, CancellationToken cancellationToken)
    {
        var reserve = new ReserveStockRequest { ReservationId = order.Id };
        reserve.Lines.AddRange(order.Lines.Select(l => new ReservationLine { Sku = l.Sku, Quantity = l.Quantity }));

        try
        {
            await inventory.ReserveStockAsync(reserve, cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            var violations = InventoryErrors.Violations(ex);
            order.Reject(InventoryErrors.RefusalReason(violations), violations, clock.UtcNowForStorage());
            return Settled(await SaveOrReloadAsync(order, cancellationToken));
        }
        catch (RpcException ex)
        {
            throw InventoryErrors.DidNotAnswer(ex,
                $"Order {order.Id} is pending: stock could not be reserved yet. Retry with the same request_id.");
        }

        order.Confirm(clock.UtcNowForStorage());
        return Settled(await SaveOrReloadAsync(order, cancellationToken));
    }

    /// <summary>Saves a transition out of PENDING; if another writer moved the order first, returns the order as they left it.</summary>
    private async Task<Order> SaveOrReloadAsync(Order order, CancellationToken cancellationToken)
    {
        var saved = await writes.RunCommandAsync(unit => unit.Sql("""
            UPDATE orders SET status = @status, status_reason = @reason, rejection_details = @details, updated_at = @updated
            WHERE order_id = @id AND status = @pending
            """).With("@status", order.Status.ToString()).With("@reason", order.StatusReason).With("@details", order.RejectionDetails)
            .With("@updated", order.UpdatedAt).With("@id", order.Id).With("@pending", nameof(OrderStatus.Pending)).RunAsync(), cancellationToken);
        return saved == 1
            ? order
            : await scopes.WithContextAsync<OrdersDbContext, Order>(
                db => db.Orders.AsNoTracking().Include(o => o.Lines).SingleAsync(o => o.Id == order.Id, cancellationToken));
    }

    private Task<Order?> FindByRequestAsync(string requestId, CancellationToken cancellationToken) =>
        scopes.WithContextAsync<OrdersDbContext, Order?>(
            db => db.Orders.AsNoTracking().Include(o => o.Lines).SingleOrDefaultAsync(o => o.RequestId == requestId, cancellationToken));

    /// <summary>
    /// The new order and its lines, in plain SQL (the hottest write of the service): one command of two statements,
    /// whatever the number of lines, which PostgreSQL commits together. False, with nothing written, when the request id
    /// is already stored: the order row is not inserted, so the lines (guarded by the new order id) are not either.
    /// </summary>
    private static async Task<bool> TryInsertAsync(OrdersDbContext db, Order order)
    {
        var insert = db.Sql("").With("@id", order.Id).With("@request", order.RequestId).With("@customer", order.CustomerId)
            .With("@status", order.Status.ToString()).With("@reason", order.StatusReason).With("@details", order.RejectionDetails)
            .With("@release", order.ReleasePending).With("@created", order.CreatedAt).With("@updated", order.UpdatedAt);
        insert.CommandText = $"""
            INSERT INTO orders (order_id, request_id, customer_id, status, status_reason, rejection_details, release_pending, created_at, updated_at)
            VALUES (@id, @request, @customer, @status, @reason, @details, @release, @created, @updated)
            ON CONFLICT DO NOTHING;
            INSERT INTO order_lines (order_id, sku, quantity)
            SELECT * FROM (VALUES {insert.ValuesList(order.Lines, static line => [line.Sku, line.Quantity], "@id")}) AS line
            WHERE EXISTS (SELECT 1 FROM orders WHERE order_id = @id)
            """;
        return await insert.RunAsync() > 0;
    }

    private static Order SameRequestOrThrow(Order existing, OrderRequest request) =>
        existing.IsSameRequest(request)
            ? existing
            : throw OrderErrors.RequestIdReused(existing, request.CustomerId);
}
