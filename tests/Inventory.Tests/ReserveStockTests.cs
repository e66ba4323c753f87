using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>ReserveStock and ReleaseReservation through the generated client, checked against the stored rows.</summary>
public class ReserveStockTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_moves_stock_from_available_to_reserved_for_every_line(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.UpsertAsync("MS-002", 5);

        var response = await inventory.ReserveAsync("order-1", ("MS-002", 5), ("KB-001", 3));

        Assert.Equal(Contracts.Inventory.V1.ReservationState.Active, response.State);
        Assert.Equal([("KB-001", 3), ("MS-002", 5)], response.Lines.Select(l => (l.Sku, l.Quantity)));
        var keyboard = await inventory.StoredItemAsync("KB-001");
        var mouse = await inventory.StoredItemAsync("MS-002");
        Assert.Equal((7, 3), (keyboard.Available, keyboard.Reserved));
        Assert.Equal((0, 5), (mouse.Available, mouse.Reserved));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_short_on_one_line_takes_nothing_and_names_each_short_sku(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.UpsertAsync("DK-006", 2);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition,
            () => inventory.ReserveAsync("order-1", ("KB-001", 3), ("DK-006", 5), ("NOPE-1", 1)).ResponseAsync);

        Assert.Collection(ex.PreconditionViolations().OrderBy(v => v.Subject, StringComparer.Ordinal),
            v => Assert.Equal(("INSUFFICIENT_STOCK", "DK-006", "requested 5, available 2"), (v.Type, v.Subject, v.Description)),
            v => Assert.Equal(("UNKNOWN_SKU", "NOPE-1"), (v.Type, v.Subject)));
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
        Assert.Equal((2, 0), await LevelAsync(inventory, "DK-006"));
        Assert.False(await inventory.QueryAsync(d => d.Reservations.AnyAsync(InventoryHost.Ct)));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_refused_for_shortage_can_be_retried_with_the_same_id_once_stock_arrives(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("DK-006", 1);
        await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition, () => inventory.ReserveAsync("order-1", ("DK-006", 2)).ResponseAsync);

        await inventory.UpsertAsync("DK-006", 5);
        await inventory.ReserveAsync("order-1", ("DK-006", 2));

        Assert.Equal((3, 2), await LevelAsync(inventory, "DK-006"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_twice_with_same_id_takes_stock_once(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.UpsertAsync("MS-002", 10);

        var first = await inventory.ReserveAsync("order-1", ("KB-001", 3), ("MS-002", 1));
        var second = await inventory.ReserveAsync("order-1", ("MS-002", 1), ("KB-001", 3));

        Assert.Equal(first, second);
        Assert.Equal((7, 3), await LevelAsync(inventory, "KB-001"));
        Assert.Equal((9, 1), await LevelAsync(inventory, "MS-002"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_with_a_used_id_and_other_lines_is_already_exists(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.ReserveAsync("order-1", ("KB-001", 3));

        await RpcAssert.ThrowsAsync(StatusCode.AlreadyExists, () => inventory.ReserveAsync("order-1", ("KB-001", 4)).ResponseAsync);

        Assert.Equal((7, 3), await LevelAsync(inventory, "KB-001"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReleaseReservation_gives_stock_back_once(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.UpsertAsync("MS-002", 10);
        await inventory.ReserveAsync("order-1", ("KB-001", 3), ("MS-002", 2));

        var first = await inventory.ReleaseAsync("order-1");
        var second = await inventory.ReleaseAsync("order-1");

        Assert.True(first.ReleasedNow);
        Assert.False(second.ReleasedNow);
        Assert.Equal(Contracts.Inventory.V1.ReservationState.Released, second.State);
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
        Assert.Equal((10, 0), await LevelAsync(inventory, "MS-002"));
        var stored = await inventory.QueryAsync(d => d.Reservations.AsNoTracking().SingleAsync(InventoryHost.Ct));
        Assert.Equal(Model.ReservationState.Released, stored.State);
        Assert.NotNull(stored.ReleasedAt);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_after_release_is_refused_as_released(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        await inventory.ReserveAsync("order-1", ("KB-001", 3));
        await inventory.ReleaseAsync("order-1");

        var ex = await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition,
            () => inventory.ReserveAsync("order-1", ("KB-001", 3)).ResponseAsync);

        Assert.Equal(ReservationRules.ReservationReleased, Assert.Single(ex.PreconditionViolations()).Type);
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReleaseReservation_of_an_unknown_id_records_it_so_a_late_reserve_is_refused(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);

        var release = await inventory.ReleaseAsync("order-late");
        var again = await inventory.ReleaseAsync("order-late");
        await RpcAssert.ThrowsAsync(StatusCode.FailedPrecondition, () => inventory.ReserveAsync("order-late", ("KB-001", 1)).ResponseAsync);

        Assert.False(release.ReleasedNow);
        Assert.Equal(Contracts.Inventory.V1.ReservationState.Released, release.State);
        Assert.False(again.ReleasedNow);
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
    }

    private static async Task<(int Available, int Reserved)> LevelAsync(InventoryHost inventory, string sku)
    {
        var item = await inventory.StoredItemAsync(sku);
        return (item.Available, item.Reserved);
    }
}
