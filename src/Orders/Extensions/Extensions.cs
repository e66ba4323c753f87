using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.Orders.Domain;
using Contoso.Retail.Orders.Grpc;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Contoso.Retail.Orders;

public static class OrdersExtensions
{
    /// <summary>
    /// The orders database (ConnectionStrings:Orders), the Inventory client (Services:Inventory, settings in
    /// GrpcClients) and the ordering domain, including the background reconciler of pending orders.
    /// Settings: the "Orders" section.
    /// </summary>
    public static WebApplicationBuilder AddOrders(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceDatabase<WebApplicationBuilder, OrdersDbContext, SqliteOrdersDbContext, PostgresOrdersDbContext>("Orders");

        var services = builder.Services;
        services.AddOptions<OrdersOptions>().BindConfiguration(OrdersOptions.Section);
        services.TryAddSingleton(TimeProvider.System);

        // Deadline and cancellation propagated from the incoming call (GrpcClients:DefaultDeadline when there is none),
        // service token, correlation id, and retries of ReserveStock/ReleaseReservation, which the contract marks IDEMPOTENT.
        builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory");

        services.AddSingleton<OrderMetrics>();
        services.AddScoped<OrderPlacement>();
        services.AddScoped<OrderCancellation>();
        services.AddSingleton<PendingOrderReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingOrderReconciler>());
        return builder;
    }

    /// <summary>Maps orders.v1.OrderService and migrates the orders database.</summary>
    public static async Task MapOrdersAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<OrderGrpcService>();
        await app.MigrateDatabaseAsync<OrdersDbContext>();
    }
}
