using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>WatchStock: current levels first, then every change, until the client goes away.</summary>
public class WatchStockTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task WatchStock_sends_current_levels_then_the_change_a_reservation_makes(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.UpsertAsync("MS-002", 5);
        await inventory.UpsertAsync("DK-006", 3);
        using var watch = Watch(inventory, "MS-002", "KB-001");
        var stream = watch.ResponseStream;

        var first = await NextAsync(stream);
        var second = await NextAsync(stream);
        await inventory.ReserveAsync("order-1", ("DK-006", 1), ("KB-001", 4));
        var change = await NextAsync(stream);

        Assert.Equal([("KB-001", 10, 0, true), ("MS-002", 5, 0, true)], [Describe(first), Describe(second)]);
        Assert.Equal(("KB-001", 6, 4, false), Describe(change));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task WatchStock_of_everything_sees_new_items_and_releases(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.ReserveAsync("order-1", ("KB-001", 4));
        using var watch = Watch(inventory);
        var stream = watch.ResponseStream;

        var initial = await NextAsync(stream);
        await inventory.UpsertAsync("WC-007", 25);
        var created = await NextAsync(stream);
        await inventory.ReleaseAsync("order-1");
        var released = await NextAsync(stream);

        Assert.Equal(("KB-001", 6, 4, true), Describe(initial));
        Assert.Equal(("WC-007", 25, 0, false), Describe(created));
        Assert.Equal(("KB-001", 10, 0, false), Describe(released));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task WatchStock_of_an_unknown_sku_is_not_found_before_anything_is_sent(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        using var watch = Watch(inventory, "KB-001", "NOPE-1");

        await RpcAssert.ThrowsAsync(StatusCode.NotFound, () => watch.ResponseStream.MoveNext(InventoryHost.Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task WatchStock_stops_listening_when_the_client_cancels(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        var feed = inventory.Service.Services.GetRequiredService<StockChangeFeed>();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(InventoryHost.Ct);
        using var watch = inventory.Client.WatchStock(new WatchStockRequest(), cancellationToken: cancel.Token);
        await NextAsync(watch.ResponseStream);
        Assert.Equal(1, feed.SubscriberCount);

        await cancel.CancelAsync();

        await RpcAssert.ThrowsAsync(StatusCode.Cancelled, () => watch.ResponseStream.MoveNext(CancellationToken.None));
        await Eventually.HoldsAsync(() => Task.FromResult(feed.SubscriberCount == 0), "the feed to drop its last subscriber", Patience);
    }

    private static AsyncServerStreamingCall<WatchStockResponse> Watch(InventoryHost inventory, params string[] skus) =>
        inventory.Client.WatchStock(new WatchStockRequest { Skus = { skus } }, cancellationToken: InventoryHost.Ct);

    private static async Task<WatchStockResponse> NextAsync(IAsyncStreamReader<WatchStockResponse> stream)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(InventoryHost.Ct);
        timeout.CancelAfter(Patience);
        Assert.True(await stream.MoveNext(timeout.Token), "the stream ended");
        return stream.Current;
    }

    private static (string Sku, int Available, int Reserved, bool Initial) Describe(WatchStockResponse response) =>
        (response.Level.Sku, response.Level.Available, response.Level.Reserved, response.Initial);
}
