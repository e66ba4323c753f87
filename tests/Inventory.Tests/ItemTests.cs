using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>GetItem, ListItems and UpsertItem through the generated client.</summary>
public class ItemTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task UpsertItem_creates_then_replaces_name_and_available(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);

        var created = await inventory.Client.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 10 }, cancellationToken: InventoryHost.Ct);
        var updated = await inventory.Client.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Mechanical keyboard", Available = 7 }, cancellationToken: InventoryHost.Ct);

        Assert.True(created.Created);
        Assert.False(updated.Created);
        Assert.Equal(("Mechanical keyboard", 7, 0), (updated.Item.Name, updated.Item.Available, updated.Item.Reserved));
        var stored = await inventory.StoredItemAsync("KB-001");
        Assert.Equal(("Mechanical keyboard", 7), (stored.Name, stored.Available));
        Assert.True(updated.Item.UpdatedAt.ToDateTime() >= created.Item.UpdatedAt.ToDateTime());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task UpsertItem_leaves_reserved_stock_alone(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.ReserveAsync("order-1", ("KB-001", 4));

        var updated = await inventory.UpsertAsync("KB-001", 20);

        Assert.Equal((20, 4), (updated.Available, updated.Reserved));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task GetItem_returns_the_item_and_an_unknown_sku_is_not_found(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10, "Mechanical keyboard");

        var item = (await inventory.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: InventoryHost.Ct)).Item;
        var ex = await RpcAssert.ThrowsAsync(StatusCode.NotFound,
            () => inventory.Client.GetItemAsync(new GetItemRequest { Sku = "NOPE-1" }, cancellationToken: InventoryHost.Ct).ResponseAsync);

        Assert.Equal(("KB-001", "Mechanical keyboard", 10), (item.Sku, item.Name, item.Available));
        Assert.Equal("NOPE-1", ex.GetRpcStatus()?.GetDetail<ResourceInfo>()?.ResourceName);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ListItems_pages_through_every_item_in_sku_order(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        // Mixed case and punctuation: the order must be byte order on both providers.
        string[] skus = ["b-2", "A-1", "a_1", "Z.9", "a-1", "0-0", "b.1"];
        foreach (var sku in skus)
        {
            await inventory.UpsertAsync(sku, 1);
        }

        var seen = new List<string>();
        var pages = 0;
        var request = new ListItemsRequest { PageSize = 3 };
        do
        {
            var page = await inventory.Client.ListItemsAsync(request, cancellationToken: InventoryHost.Ct);
            seen.AddRange(page.Items.Select(i => i.Sku));
            pages++;
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(skus.Order(StringComparer.Ordinal), seen);
        Assert.Equal(3, pages);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ListItems_with_an_exact_last_page_has_no_next_token(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("A-1", 1);
        await inventory.UpsertAsync("B-1", 1);

        var page = await inventory.Client.ListItemsAsync(new ListItemsRequest { PageSize = 2 }, cancellationToken: InventoryHost.Ct);
        var empty = await inventory.Client.ListItemsAsync(new ListItemsRequest(), cancellationToken: InventoryHost.Ct);

        Assert.Equal(2, page.Items.Count);
        Assert.Empty(page.NextPageToken);
        Assert.Equal(2, empty.Items.Count);
    }
}
