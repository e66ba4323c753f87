using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Reflection.V1Alpha;

using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// In the Production environment (tokens from an OIDC authority, as deployed) reflection is off and no internal
/// exception's message reaches a client, whether the exception passes through ExceptionInterceptor or escapes outside it.
/// </summary>
public class ProductionTests
{
    private const string Secret = "connection string Password=hunter2 at /srv/secret/path";

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Fact]
    public async Task Server_reflection_is_UNIMPLEMENTED_in_Production()
    {
        await using var idp = await FakeIdentityProvider.StartHostileAsync();
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await StartAsync(idp, db, Environments.Production);
        using var channel = inventory.CreateChannel(idp.Mint("ops", ["inventory.read"]));

        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(cancellationToken: Ct);
        try
        {
            await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
        }
        catch (RpcException)
        {
            // The service may end the call before the request is written; the client then reports the write as
            // CANCELLED. The call's own status comes from the response.
        }

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Unimplemented, async () => await call.ResponseStream.MoveNext(Ct));
        SecurityFigures.Tally("auth.production", "reflection", ex.StatusCode);
    }

    [Fact]
    public async Task A_database_failure_inside_a_handler_is_INTERNAL_with_a_trace_id_and_none_of_its_message_in_Production()
    {
        await using var idp = await FakeIdentityProvider.StartHostileAsync();
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await StartAsync(idp, db, Environments.Production);
        await using (var scope = inventory.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<InventoryDbContext>().Database.ExecuteSqlRawAsync("DROP TABLE reservation_lines", Ct);
        }

        using var channel = inventory.CreateChannel(idp.Mint("ops", ["inventory.reserve"]));
        var ex = await RpcAssert.ThrowsAsync(StatusCode.Internal, () => new InventoryService.InventoryServiceClient(channel).ReserveStockAsync(
            new ReserveStockRequest { ReservationId = "r-1", Lines = { new ReservationLine { Sku = "X-1", Quantity = 1 } } }, cancellationToken: Ct).ResponseAsync);
        SecurityFigures.Tally("auth.production", "database failure in a handler", ex.StatusCode);

        Assert.StartsWith("An internal error occurred. Trace id: ", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("reservation_lines", ex.Status.Detail + string.Join(" ", ex.Trailers.Select(t => t.Value)), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("SQLite", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Production", false)]
    [InlineData("Development", true)]
    public async Task An_exception_escaping_every_interceptor_is_generic_in_Production_and_detailed_only_in_Development(string environment, bool detailed)
    {
        await using var idp = await FakeIdentityProvider.StartHostileAsync();
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var inventory = await StartAsync(idp, db, environment, outermost: typeof(ThrowOutsideEverything));
        var token = environment == Environments.Production ? idp.Mint("ops", ["inventory.read"]) : inventory.Token!;
        using var channel = inventory.CreateChannel(token);

        var ex = await Assert.ThrowsAsync<RpcException>(() => new InventoryService.InventoryServiceClient(channel).GetItemAsync(
            new GetItemRequest { Sku = "X-1" }, cancellationToken: Ct).ResponseAsync);
        SecurityFigures.Tally("auth.production", $"exception outside ExceptionInterceptor ({environment})", ex.StatusCode);

        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Equal(detailed, ex.Status.Detail.Contains("hunter2", StringComparison.Ordinal));
    }

    /// <summary>Registered before AddServiceDefaults, so it runs outside ExceptionInterceptor: only grpc-dotnet's own handling is left.</summary>
    private sealed class ThrowOutsideEverything : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
            throw new InvalidOperationException(Secret);
    }

    private static Task<RunningService> StartAsync(FakeIdentityProvider idp, TestDatabase db, string environment, Type? outermost = null)
    {
        var settings = db.Settings("Inventory");
        settings["Serilog:MinimumLevel:Default"] = "Fatal";
        if (environment == Environments.Production)
        {
            foreach (var (key, value) in idp.AuthoritySettings())
            {
                settings[key] = value;
            }
        }

        return ServiceHosts.StartInventoryAsync(new()
        {
            Settings = settings,
            Prepare = builder =>
            {
                builder.Environment.EnvironmentName = environment;
                if (outermost is not null)
                {
                    builder.Services.AddGrpc(options => options.Interceptors.Add(outermost));
                }
            },
            Configure = idp.ServeMetadataTo,
        });
    }
}
