using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>Many calls at once, as retries and busy shops produce them: stock is taken once and never oversold.</summary>
public class ConcurrencyTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_sent_20_times_at_once_with_the_same_id_takes_stock_once(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 100);
        await inventory.UpsertAsync("MS-002", 100);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
            await inventory.ReserveAsync("order-1", ("KB-001", 3), ("MS-002", 2)))));

        Assert.All(responses, r => Assert.Equal(responses[0], r));
        Assert.Equal((97, 3), await LevelAsync(inventory, "KB-001"));
        Assert.Equal((98, 2), await LevelAsync(inventory, "MS-002"));
        Assert.Equal(1, await inventory.QueryAsync(d => d.Reservations.CountAsync(InventoryHost.Ct)));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_from_many_callers_at_once_never_oversells(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("DK-006", 10);
        await inventory.UpsertAsync("KB-001", 25);

        // 40 orders of one dock and one keyboard, lines in both orders (locks taken in SKU order cannot deadlock).
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            (string, int)[] lines = i % 2 == 0 ? [("DK-006", 1), ("KB-001", 1)] : [("KB-001", 1), ("DK-006", 1)];
            try
            {
                await inventory.ReserveAsync($"order-{i}", lines);
                return (Code: StatusCode.OK, Detail: "");
            }
            catch (RpcException ex)
            {
                return (Code: ex.StatusCode, Detail: ex.Status.Detail);
            }
        })));

        // Contention must surface as "reserved" or "out of stock", never as an error the caller cannot act on.
        Assert.Empty(outcomes.Where(o => o.Code is not (StatusCode.OK or StatusCode.FailedPrecondition)).Select(o => $"{o.Code}: {o.Detail}"));
        Assert.Equal(10, outcomes.Count(o => o.Code == StatusCode.OK));
        Assert.Equal(30, outcomes.Count(o => o.Code == StatusCode.FailedPrecondition));
        Assert.Equal((0, 10), await LevelAsync(inventory, "DK-006"));
        Assert.Equal((15, 10), await LevelAsync(inventory, "KB-001"));
        Assert.Equal(10, await inventory.QueryAsync(d => d.Reservations.CountAsync(InventoryHost.Ct)));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReserveStock_and_ReleaseReservation_racing_on_one_id_leave_no_stock_held(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 100);

        // Whichever runs first, the id ends released with every unit back: a release that finds nothing leaves a
        // tombstone the late reserve is refused by; a release that finds the reservation gives its stock back.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            var id = $"order-{i}";
            var reserve = Task.Run(async () =>
            {
                try
                {
                    await inventory.ReserveAsync(id, ("KB-001", 2));
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
                {
                    // Release came first and left a tombstone.
                }
            });
            await inventory.ReleaseAsync(id);
            await reserve;
        })));

        Assert.Equal((100, 0), await LevelAsync(inventory, "KB-001"));
        Assert.Equal(10, await inventory.QueryAsync(d => d.Reservations.CountAsync(
            r => r.State == Model.ReservationState.Released, InventoryHost.Ct)));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task UpsertItem_of_a_new_sku_from_many_callers_at_once_creates_it_once(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
            await inventory.Client.UpsertItemAsync(
                new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 5 }, cancellationToken: InventoryHost.Ct))));

        Assert.Equal(1, responses.Count(r => r.Created));
        Assert.Equal((5, 0), await LevelAsync(inventory, "KB-001"));
    }

    private static async Task<(int Available, int Reserved)> LevelAsync(InventoryHost inventory, string sku)
    {
        var item = await inventory.StoredItemAsync(sku);
        return (item.Available, item.Reserved);
    }
}
