using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Grpc;
using Contoso.Retail.Orders.Ordering;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Contoso.Retail.Orders;

public static class OrdersExtensions
{
    /// <summary>
    /// The orders database (ConnectionStrings:Orders), the Inventory client (Services:Inventory) and the
    /// ordering domain, including the background reconciler of pending orders. Settings: the "Orders" section.
    /// </summary>
    public static WebApplicationBuilder AddOrders(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceDatabase<WebApplicationBuilder, OrdersDbContext, SqliteOrdersDbContext, PostgresOrdersDbContext>("Orders");

        var services = builder.Services;
        services.AddOptions<OrdersOptions>().BindConfiguration(OrdersOptions.Section);
        services.TryAddSingleton(TimeProvider.System);

        // The caller's deadline and cancellation flow into the call to Inventory; calls without one get a default.
        services.AddGrpcClient<InventoryService.InventoryServiceClient>((sp, client) =>
                client.Address = InventoryAddress(sp.GetRequiredService<IConfiguration>()))
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true)
            .AddInterceptor(sp => new DefaultDeadlineInterceptor(
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IOptions<OrdersOptions>>().Value.InventoryCallTimeout));

        services.AddScoped<OrderPlacement>();
        services.AddScoped<OrderCancellation>();
        services.AddSingleton<PendingOrderReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingOrderReconciler>());
        return builder;
    }

    /// <summary>Maps orders.v1.OrderService and migrates the orders database.</summary>
    public static async Task UseOrdersAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<OrderGrpcService>();
        await app.MigrateDatabaseAsync<OrdersDbContext>();
    }

    private static Uri InventoryAddress(IConfiguration configuration)
    {
        var address = configuration["Services:Inventory"];
        return Uri.TryCreate(address, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException(
                $"Services:Inventory must be the absolute URL of Inventory's gRPC endpoint (got '{address}').");
    }
}
