using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>
/// Auth on Inventory: ReserveStock needs inventory.reserve. The rules every service shares are tested on a test
/// service in ServiceDefaults.Tests (Auth/AuthTests; an OIDC authority and client credentials in Auth/AuthorityTests).
/// </summary>
public class AuthTests
{
    private static CancellationToken Ct => InventoryHost.Ct;

    [Theory]
    [MemberData(nameof(AuthCases.Unauthenticated), MemberType = typeof(AuthCases))]
    public async Task ReserveStock_with_unacceptable_credentials_is_unauthenticated_and_reserves_nothing(string credentials)
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        using var channel = inventory.Service.CreateChannel(token: null);
        var headers = AuthCases.Headers(inventory.Service, credentials, "inventory.reserve");

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reserve(channel, headers));

        AuthCases.AssertUnauthenticated(ex, headers);
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
    }

    [Fact]
    public async Task ReserveStock_with_a_token_lacking_inventory_reserve_is_permission_denied_naming_the_scope()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        using var channel = inventory.Service.CreateChannel(inventory.Service.MintToken(["inventory.read", "inventory.write", "orders.write"]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reserve(channel));

        AuthCases.AssertPermissionDenied(ex, "inventory.reserve");
        Assert.Equal((10, 0), await LevelAsync(inventory, "KB-001"));
    }

    [Fact]
    public async Task ReserveStock_with_just_inventory_reserve_succeeds()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        using var channel = inventory.Service.CreateChannel(inventory.Service.MintToken(["inventory.reserve"]));

        var response = await Reserve(channel);

        Assert.Equal(ReservationState.Active, response.State);
        Assert.Equal((8, 2), await LevelAsync(inventory, "KB-001"));
    }

    private static Task<ReserveStockResponse> Reserve(GrpcChannel channel, Metadata? headers = null) =>
        new InventoryService.InventoryServiceClient(channel).ReserveStockAsync(
            new ReserveStockRequest { ReservationId = "order-1", Lines = { new ReservationLine { Sku = "KB-001", Quantity = 2 } } },
            headers, cancellationToken: Ct).ResponseAsync;

    private static async Task<(int Available, int Reserved)> LevelAsync(InventoryHost inventory, string sku)
    {
        var item = await inventory.StoredItemAsync(sku);
        return (item.Available, item.Reserved);
    }
}
