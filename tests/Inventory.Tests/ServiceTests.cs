using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

using Grpc.Core;
using Grpc.Health.V1;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>The service as a whole: schema, sample data, what bad input and failures look like on the wire.</summary>
public class ServiceTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Migrations_are_up_to_date_with_the_model(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);

        var (pending, applied) = await inventory.QueryAsync(async d =>
            (d.Database.HasPendingModelChanges(), (await d.Database.GetAppliedMigrationsAsync(InventoryHost.Ct)).ToList()));

        Assert.False(pending, "the model has changes no migration captures: add a migration for each provider");
        Assert.NotEmpty(applied);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Sample_data_is_seeded_once_when_asked_for(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        var seed = new Dictionary<string, string?> { ["Inventory:SeedSampleData"] = "true" };
        await using (var first = await InventoryHost.StartAsync(db, settings: seed))
        {
            await first.UpsertAsync("DK-006", 1);
        }

        await using var inventory = await InventoryHost.StartAsync(db, settings: seed);
        var items = (await inventory.Client.ListItemsAsync(new ListItemsRequest(), cancellationToken: InventoryHost.Ct)).Items;

        Assert.Equal(SampleData.Items.Count, items.Count);
        Assert.Equal(50, items.Single(i => i.Sku == "KB-001").Available);
        Assert.Equal(1, items.Single(i => i.Sku == "DK-006").Available); // the second start did not reseed
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Sample_data_is_not_seeded_by_default(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db);

        Assert.Empty((await inventory.Client.ListItemsAsync(new ListItemsRequest(), cancellationToken: InventoryHost.Ct)).Items);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Bad_input_over_the_wire_is_invalid_argument_naming_the_fields(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db, Transport.Kestrel);
        var client = inventory.Client;

        foreach (var row in RequestValidationTests.BadRequests)
        {
            var (because, request, fields) = row.Data;
            Func<Task> call = request switch
            {
                GetItemRequest r => () => client.GetItemAsync(r, cancellationToken: InventoryHost.Ct).ResponseAsync,
                UpsertItemRequest r => () => client.UpsertItemAsync(r, cancellationToken: InventoryHost.Ct).ResponseAsync,
                ReserveStockRequest r => () => client.ReserveStockAsync(r, cancellationToken: InventoryHost.Ct).ResponseAsync,
                ReleaseReservationRequest r => () => client.ReleaseReservationAsync(r, cancellationToken: InventoryHost.Ct).ResponseAsync,
                ListItemsRequest r => () => client.ListItemsAsync(r, cancellationToken: InventoryHost.Ct).ResponseAsync,
                WatchStockRequest r => () => client.WatchStock(r, cancellationToken: InventoryHost.Ct).ResponseStream.MoveNext(InventoryHost.Ct),
                _ => throw new ArgumentException(because),
            };

            var ex = await RpcAssert.ThrowsAsync(StatusCode.InvalidArgument, call);
            Assert.True(fields.SequenceEqual(ex.ViolatedFields()), $"{because}: got {string.Join(", ", ex.ViolatedFields())}");
        }

        Assert.Empty((await client.ListItemsAsync(new ListItemsRequest(), cancellationToken: InventoryHost.Ct)).Items);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task An_unexpected_failure_is_internal_without_the_exception_text(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var inventory = await InventoryHost.StartAsync(db, Transport.Kestrel);
        await inventory.UpsertAsync("KB-001", 10);
        // Break the schema under the running service: every item query now fails inside the database.
        await inventory.QueryAsync(d => d.Database.ExecuteSqlRawAsync("DROP TABLE items", InventoryHost.Ct));

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Internal,
            () => inventory.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: InventoryHost.Ct).ResponseAsync);

        Assert.StartsWith("An internal error occurred.", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("items", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(ex.Trailers, t => t.Key.Contains("exception", StringComparison.OrdinalIgnoreCase)
            || (!t.IsBinary && t.Value.Contains("items", StringComparison.Ordinal)));
    }

    /// <summary>
    /// On a restart (nothing to migrate) EF Core's model is built only after readiness has first passed, so on one core
    /// it does not compete with the first readiness answer; a start that migrated has built it already.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task On_a_restart_the_model_warm_up_waits_for_the_first_passing_readiness_check(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        // No health publisher run during the test: only the check below may start the warm-up.
        var quiet = new Dictionary<string, string?> { ["Health:PublishDelay"] = "01:00:00" };
        await using (var first = await InventoryHost.StartAsync(db, settings: quiet))
        {
            Assert.True(first.Service.Services.GetRequiredService<ModelWarmUp>().Scheduled, "the migration built the model");
        }

        await using var inventory = await InventoryHost.StartAsync(db, settings: quiet);
        var warmUp = inventory.Service.Services.GetRequiredService<ModelWarmUp>();
        Assert.False(warmUp.Scheduled, "the model warm-up was scheduled before readiness was first checked");

        var ready = await new Health.HealthClient(inventory.Service.Channel).CheckAsync(new HealthCheckRequest(), cancellationToken: InventoryHost.Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, ready.Status);
        Assert.True(warmUp.Scheduled);
    }

    /// <summary>
    /// GetItem reads on ReadConnections, so the service it is activated on must not lease EF Core's pooled context for
    /// it (a lease and a reset per call); a watcher reads its levels on one and gives it back before it streams.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task GetItem_leases_no_EF_Core_context_and_a_watcher_holds_none_while_it_streams(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        var leases = new ContextLeases<InventoryDbContext>();
        await using var inventory = await InventoryHost.StartAsync(db, configure: leases.Count);
        await inventory.UpsertAsync("KB-001", 10);
        // A fresh database migrates before the service listens, so no background model warm-up takes one meanwhile.
        var before = leases.Taken;

        for (var i = 0; i < 20; i++)
        {
            await inventory.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: InventoryHost.Ct);
        }

        Assert.Equal(before, leases.Taken);

        using var watch = inventory.Client.WatchStock(new WatchStockRequest { Skus = { "KB-001" } }, cancellationToken: InventoryHost.Ct);
        Assert.True(await watch.ResponseStream.MoveNext(InventoryHost.Ct));
        Assert.Equal(before + 1, leases.Taken);
        Assert.Equal(0, leases.Held);
    }
}
