using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Errors;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Grpc;

/// <summary>inventory.v1.InventoryService: validates, calls the domain, maps back.</summary>
/// <remarks>
/// Activated for every call, so it takes only singletons. EF Core's context comes from a scope of its own in the two
/// reads that use it: injected here, it was leased from the pool and reset for every call, GetItem's included, and a
/// watcher held one for the stream's whole life.
/// </remarks>
public sealed class InventoryGrpcService(
    IServiceScopeFactory scopes,
    ReadConnections reads,
    Warehouse warehouse,
    StockChangeFeed feed,
    IHostApplicationLifetime lifetime) : InventoryService.InventoryServiceBase
{
    private const string ItemResource = "inventory.v1.Item";

    public override async Task<GetItemResponse> GetItem(GetItemRequest request, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        var item = await reads.FindItemAsync(request.Sku, context.CancellationToken)
            ?? throw RpcErrors.NotFound(ItemResource, request.Sku);
        return new GetItemResponse { Item = item.ToWire() };
    }

    public override async Task<ListItemsResponse> ListItems(ListItemsRequest request, ServerCallContext context)
    {
        var (pageSize, afterSku) = InventoryValidation.Validate(request);

        // One extra row tells whether another page follows.
        var items = await ReadItemsAsync(
            items => (afterSku is null ? items : items.Where(i => string.Compare(i.Sku, afterSku) > 0)).OrderBy(i => i.Sku).Take(pageSize + 1),
            context.CancellationToken);
        var response = new ListItemsResponse { Items = { items.Take(pageSize).Select(i => i.ToWire()) } };
        if (items.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(items[pageSize - 1].Sku);
        }

        return response;
    }

    public override async Task<UpsertItemResponse> UpsertItem(UpsertItemRequest request, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        var (item, created) = await warehouse.UpsertItemAsync(request.Sku, request.Name, request.Available, context.CancellationToken);
        return new UpsertItemResponse { Item = item.ToWire(), Created = created };
    }

    public override async Task<ReserveStockResponse> ReserveStock(ReserveStockRequest request, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        var reservation = await warehouse.ReserveAsync(request.ReservationId, request.Lines.ToDomain(), context.CancellationToken);
        return reservation.ToWire();
    }

    public override async Task<ReleaseReservationResponse> ReleaseReservation(ReleaseReservationRequest request, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        var release = await warehouse.ReleaseAsync(request.ReservationId, context.CancellationToken);
        return new ReleaseReservationResponse
        {
            ReservationId = release.ReservationId,
            State = Contracts.Inventory.V1.ReservationState.Released,
            ReleasedNow = release.ReleasedNow,
        };
    }

    /// <summary>
    /// Current levels, then every change made through this replica. Subscribes before reading the levels so no change
    /// falls between; one the levels already include is recognised by its version and not sent again.
    /// </summary>
    public override async Task WatchStock(WatchStockRequest request, IServerStreamWriter<WatchStockResponse> responseStream, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        var skus = request.Skus.Distinct(StringComparer.Ordinal).ToList();
        using var subscription = feed.Subscribe(skus);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = stream.Token;

        var items = await ReadItemsAsync(
            items => (skus.Count > 0 ? items.Where(i => skus.Contains(i.Sku)) : items).OrderBy(i => i.Sku),
            cancellationToken);
        if (skus.Except(items.Select(i => i.Sku), StringComparer.Ordinal).FirstOrDefault() is { } unknown)
        {
            throw RpcErrors.NotFound(ItemResource, unknown);
        }

        var sentVersions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var level in items.Select(StockChange.Of))
        {
            sentVersions[level.Sku] = level.Version;
            await responseStream.WriteAsync(new WatchStockResponse { Level = level.ToWire(), Initial = true }, cancellationToken);
        }

        try
        {
            await foreach (var change in subscription.Changes.ReadAllAsync(cancellationToken))
            {
                if (sentVersions.TryGetValue(change.Sku, out var sent) && change.Version <= sent)
                {
                    continue;
                }

                sentVersions[change.Sku] = change.Version;
                await responseStream.WriteAsync(new WatchStockResponse { Level = change.ToWire(), Initial = false }, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.Unavailable("The server is shutting down; watch again to resume.");
        }

        if (subscription.Overflowed)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                "The watcher fell behind and changes were dropped; watch again for current levels."));
        }
    }

    /// <summary>Items as <paramref name="query"/> shapes them, untracked, on a context leased for this read only.</summary>
    private Task<List<Model.Item>> ReadItemsAsync(Func<IQueryable<Model.Item>, IQueryable<Model.Item>> query, CancellationToken cancellationToken) =>
        scopes.WithContextAsync<InventoryDbContext, List<Model.Item>>(db => query(db.Items.AsNoTracking()).ToListAsync(cancellationToken));
}
