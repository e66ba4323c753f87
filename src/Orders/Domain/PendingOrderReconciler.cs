using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Model;
using Contoso.Retail.ServiceDefaults.Data;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Contoso.Retail.Orders.Domain;

/// <summary>
/// Rejects orders PENDING longer than Orders:PendingOrderTimeout and releases their stock. Each is claimed before
/// Inventory is called, so a racing PlaceOrder retry cannot confirm an order whose stock is being given back.
/// </summary>
public sealed partial class PendingOrderReconciler(
    IServiceScopeFactory scopes,
    IOptions<OrdersOptions> options,
    TimeProvider clock,
    ILogger<PendingOrderReconciler> logger) : BackgroundService
{
    private const int ReleaseBatchSize = 100;

    /// <summary>One pass, as of <paramref name="now"/>. Returns how many orders it expired.</summary>
    public async Task<int> ReconcileAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        var inventory = scope.ServiceProvider.GetRequiredService<InventoryService.InventoryServiceClient>();

        var cutoff = StorageTime.ForStorage(now - options.Value.PendingOrderTimeout);
        var updatedAt = StorageTime.ForStorage(now);
        var details = RejectionViolation.ToJson(Order.ExpiredViolations);
        var expired = await db.Orders
            .Where(o => o.Status == OrderStatus.Pending && o.CreatedAt < cutoff)
            .ExecuteUpdateAsync(s => s
                .SetProperty(o => o.Status, OrderStatus.Rejected)
                .SetProperty(o => o.StatusReason, Order.ExpiredReason)
                .SetProperty(o => o.RejectionDetails, details)
                .SetProperty(o => o.ReleasePending, true)
                .SetProperty(o => o.UpdatedAt, updatedAt), cancellationToken);
        if (expired > 0)
        {
            LogExpired(logger, expired);
        }

        await ReleasePendingAsync(db, inventory, cancellationToken);
        return expired;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReconcileAsync(clock.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The next tick tries again; nothing is lost by skipping a pass.
                LogPassFailed(logger, ex);
            }
        }
    }

    private async Task ReleasePendingAsync(OrdersDbContext db, InventoryService.InventoryServiceClient inventory, CancellationToken cancellationToken)
    {
        var lastId = "";
        while (true)
        {
            var ids = await db.Orders
                .Where(o => o.ReleasePending && string.Compare(o.Id, lastId) > 0)
                .OrderBy(o => o.Id)
                .Select(o => o.Id)
                .Take(ReleaseBatchSize)
                .ToListAsync(cancellationToken);
            if (ids.Count == 0)
            {
                return;
            }

            foreach (var id in ids)
            {
                try
                {
                    await inventory.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = id }, cancellationToken: cancellationToken);
                }
                catch (RpcException ex)
                {
                    LogReleaseFailed(logger, ex, id, ex.StatusCode);
                    continue;
                }

                await db.Orders.Where(o => o.Id == id)
                    .ExecuteUpdateAsync(s => s.SetProperty(o => o.ReleasePending, false), cancellationToken);
            }

            lastId = ids[^1];
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Count} order(s) that Inventory did not confirm in time")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the reservation of expired order {OrderId} ({StatusCode}); will retry")]
    private static partial void LogReleaseFailed(ILogger logger, Exception ex, string orderId, StatusCode statusCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconciling pending orders failed; will retry on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception ex);
}
