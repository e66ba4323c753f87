using System.Security.Cryptography;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>
/// The production setup: Inventory trusts an OIDC authority (keys from its discovery document) instead of a
/// development key, and a service gets its own token by OAuth2 client credentials.
/// </summary>
public class AuthorityTests
{
    private static CancellationToken Ct => InventoryHost.Ct;

    [Fact]
    public async Task A_token_signed_by_the_authority_is_accepted()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var inventory = await StartAsync(idp);

        var item = await UpsertAsync(inventory, idp.Mint("alice", ["inventory.write"]));

        Assert.Equal(("AU-1", 5), (item.Sku, item.Available));
    }

    [Fact]
    public async Task Tokens_from_another_key_another_issuer_or_with_the_public_key_as_hmac_secret_are_unauthenticated()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var inventory = await StartAsync(idp);
        using var otherKey = RSA.Create(2048);

        string[] tokens =
        [
            idp.Mint("mallory", ["inventory.write"], signingKey: otherKey),
            idp.Mint("mallory", ["inventory.write"], issuer: "http://evil.test"),
            idp.MintWithPublicKeyAsHmacSecret("mallory", ["inventory.write"]),
        ];

        foreach (var token in tokens)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => UpsertAsync(inventory, token));
            AuthCases.AssertUnauthenticated(ex, AuthCases.Bearer(token));
        }
    }

    [Fact]
    public async Task A_service_gets_its_own_token_by_client_credentials_once_and_the_authority_s_token_is_accepted()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var inventory = await StartAsync(idp, new()
        {
            ["Auth:ClientId"] = FakeIdentityProvider.ClientId,
            ["Auth:ClientSecret"] = FakeIdentityProvider.ClientSecret,
            ["Auth:ServiceScopes"] = "inventory.write",
        });
        var tokens = inventory.Services.GetRequiredService<ServiceTokens>();

        var first = await tokens.GetAsync("ignored: Auth:ServiceScopes wins", Ct);
        var second = await tokens.GetAsync(null, Ct);
        var item = await UpsertAsync(inventory, first);

        Assert.Equal(first, second);
        Assert.Equal(1, idp.TokensIssued);
        Assert.Equal("AU-1", item.Sku);
    }

    [Fact]
    public async Task Wrong_client_credentials_fail_the_call_instead_of_sending_no_token()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var inventory = await StartAsync(idp, new()
        {
            ["Auth:ClientId"] = FakeIdentityProvider.ClientId,
            ["Auth:ClientSecret"] = "wrong",
        });
        var tokens = inventory.Services.GetRequiredService<ServiceTokens>();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await tokens.GetAsync("inventory.read", Ct));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("refused this service's client credentials (401)", ex.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task<RunningService> StartAsync(FakeIdentityProvider idp, Dictionary<string, string?>? extra = null)
    {
        var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var settings = db.Settings("Inventory");
        foreach (var (key, value) in idp.AuthoritySettings().Concat(extra ?? []))
        {
            settings[key] = value;
        }

        return await RetailServices.StartInventoryAsync(new()
        {
            Transport = Transport.InMemory,
            Settings = settings,
            Configure = idp.ServeMetadataTo,
            DefaultEndpoints = false,
        });
    }

    private static async Task<Item> UpsertAsync(RunningService inventory, string token)
    {
        using var channel = inventory.CreateChannel(token);
        var response = await new InventoryService.InventoryServiceClient(channel).UpsertItemAsync(
            new UpsertItemRequest { Sku = "AU-1", Name = "Authority lamp", Available = 5 }, cancellationToken: Ct);
        return response.Item;
    }
}
