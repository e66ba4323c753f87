using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Grpc;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Contoso.Retail.Inventory;

/// <summary>What the Inventory service adds to a host; Program.cs, DevHost and tests all use these two calls.</summary>
public static class InventoryExtensions
{
    /// <summary>The Inventory database (ConnectionStrings:Inventory on Database:Provider) and the stock domain.</summary>
    public static WebApplicationBuilder AddInventory(this WebApplicationBuilder builder)
    {
        builder.AddServiceDatabase<WebApplicationBuilder, InventoryDbContext, SqliteInventoryDbContext, PostgresInventoryDbContext>("Inventory");

        var watchBufferSize = builder.Configuration.GetValue("Inventory:WatchBufferSize", StockChangeFeed.DefaultCapacity);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new StockChangeFeed(watchBufferSize));
        builder.Services.AddSingleton<InventoryMetrics>();
        builder.Services.AddSingleton<Warehouse>();
        return builder;
    }

    /// <summary>Maps inventory.v1.InventoryService, migrates the database and, with Inventory:SeedSampleData, seeds it.</summary>
    public static async Task MapInventoryAsync(this WebApplication app)
    {
        app.MapGrpcService<InventoryGrpcService>();
        await app.MigrateDatabaseAsync<InventoryDbContext>();

        // The emptiness check reads on a plain connection: on a restart (items present) EF Core's model, ~0.4 s of
        // CPU on one core, is then built in the background after Kestrel listens rather than before.
        if (app.Configuration.GetValue<bool>("Inventory:SeedSampleData")
            && !await SampleData.AnyItemsAsync(app.Services.GetRequiredService<ReadConnections>()))
        {
            await using var scope = app.Services.CreateAsyncScope();
            await SampleData.SeedAsync(
                scope.ServiceProvider.GetRequiredService<InventoryDbContext>(),
                scope.ServiceProvider.GetRequiredService<TimeProvider>());
        }
    }
}
