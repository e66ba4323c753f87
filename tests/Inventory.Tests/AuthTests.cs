using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>
/// Auth on Inventory (ReserveStock needs inventory.reserve), and the rules every service shares: anonymous
/// health, fail-closed for methods without a scope, startup refusing unsafe or missing configuration.
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

    [Fact]
    public async Task Scopes_are_read_from_an_scp_array_claim_too()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await InventoryHost.StartAsync(db);
        await inventory.UpsertAsync("KB-001", 10);
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = DevTokens.DefaultIssuer,
            Audience = DevTokens.DefaultAudience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "entra-style", ["scp"] = new[] { "inventory.read", "inventory.reserve" } },
            SigningCredentials = new(DevTokens.SigningKey(DevTokens.DevelopmentKey), DevTokens.Algorithm),
        });
        using var channel = inventory.Service.CreateChannel(token);

        var response = await Reserve(channel);

        Assert.Equal(ReservationState.Active, response.State);
    }

    [Fact]
    public async Task Health_check_needs_no_token()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await InventoryHost.StartAsync(db);
        using var channel = inventory.Service.CreateChannel(token: null);

        var health = await new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task A_method_that_declares_no_scope_is_permission_denied_even_with_every_scope()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await RunningService.StartAsync(
            Transport.InMemory,
            db.Settings("Inventory"),
            builder => builder.AddServiceDefaults().AddInventory(),
            async app =>
            {
                app.MapGrpcService<UnscopedService>();
                await app.MapInventoryAsync();
            });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            service.Channel.CreateCallInvoker().AsyncUnaryCall(UnscopedService.PingMethod, null, new CallOptions(cancellationToken: Ct), new Empty()).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains("declares no required scope", ex.Status.Detail, StringComparison.Ordinal);
        Assert.False(UnscopedService.Reached);
    }

    [Fact]
    public void Production_refuses_to_start_with_the_development_key()
    {
        var builder = Builder("Production", new() { ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddServiceDefaults());

        Assert.Contains("Auth:DevSigningKey is configured in the Production environment", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Staging")]
    [InlineData("Demo")]
    public void Environments_other_than_Development_and_Test_refuse_the_development_key(string environment)
    {
        var builder = Builder(environment, new() { ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddServiceDefaults());

        Assert.Contains($"Auth:DevSigningKey is configured in the {environment} environment", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Production_refuses_any_development_key_even_alongside_an_authority()
    {
        var builder = Builder("Production", new()
        {
            ["Auth:DevSigningKey"] = Convert.ToBase64String(new byte[48]),
            ["Auth:Authority"] = "https://login.example.com/tenant/",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddServiceDefaults());

        Assert.Contains("Production", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_with_an_authority_and_no_development_key_builds()
    {
        var builder = Builder("Production", new() { ["Auth:Authority"] = "https://login.example.com/tenant/" });

        builder.AddServiceDefaults();
        await using var app = builder.Build();

        var options = app.Services.GetRequiredService<AuthOptions>();
        Assert.Equal(("https://login.example.com/tenant/", null), (options.Authority, options.DevSigningKey));
    }

    [Theory]
    [InlineData(null, null, "Auth is not configured")]
    [InlineData("Y29udG9zby1yZXRhaWwtREVWRUxPUE1FTlQtT05MWS1zaWduaW5nLWtleS1uZXZlci1pbi1wcm9k", "https://login.example.com/", "both configured")]
    [InlineData("c2hvcnQta2V5", null, "at least 32 bytes")]
    [InlineData("not base64!", null, "must be base64")]
    [InlineData(null, "not-a-url", "absolute URL")]
    public void Startup_fails_with_a_clear_message_when_auth_is_misconfigured(string? devKey, string? authority, string message)
    {
        var builder = Builder("Development", new() { ["Auth:DevSigningKey"] = devKey, ["Auth:Authority"] = authority });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddServiceDefaults());

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    private static WebApplicationBuilder Builder(string environment, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
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

/// <summary>A gRPC service no contract declares, so it has no required scope: the auth interceptor must refuse it.</summary>
[BindServiceMethod(typeof(UnscopedService), nameof(BindService))]
public class UnscopedService
{
    public static readonly Method<Empty, Empty> PingMethod = new(
        MethodType.Unary, "test.v1.Unscoped", nameof(Ping),
        Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), Empty.Parser.ParseFrom),
        Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), Empty.Parser.ParseFrom));

    private static volatile bool _reached;

    public static bool Reached => _reached;

    public static void BindService(ServiceBinderBase binder, UnscopedService? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(PingMethod, service is null ? null : (UnaryServerMethod<Empty, Empty>)service.Ping);
    }

    // ASP.NET Core binds a handler by name to a virtual method of the type that declares BindService.
    public virtual Task<Empty> Ping(Empty request, ServerCallContext context)
    {
        _reached = true;
        return Task.FromResult(new Empty());
    }
}
