using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>The Inventory service, started the way Program.cs starts it, on a test database, with a client.</summary>
public sealed class InventoryHost : IAsyncDisposable
{
    private InventoryHost(RunningService service)
    {
        Service = service;
        Client = new InventoryService.InventoryServiceClient(service.Channel);
    }

    public RunningService Service { get; }

    public InventoryService.InventoryServiceClient Client { get; }

    /// <param name="configure">Runs on the builder after the service is added (a replaced registration).</param>
    public static async Task<InventoryHost> StartAsync(
        TestDatabase db, Transport transport = Transport.InMemory, IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var configuration = db.Settings("Inventory");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var service = await ServiceHosts.StartInventoryAsync(new() { Transport = transport, Settings = configuration, Configure = configure });
        return new InventoryHost(service);
    }

    /// <summary>Runs <paramref name="query"/> on a fresh context: what is really stored, not what the service answered.</summary>
    public async Task<T> QueryAsync<T>(Func<InventoryDbContext, Task<T>> query)
    {
        await using var scope = Service.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<InventoryDbContext>());
    }

    public Task<Model.Item> StoredItemAsync(string sku) =>
        QueryAsync(db => db.Items.AsNoTracking().SingleAsync(i => i.Sku == sku, Ct));

    public async Task<Item> UpsertAsync(string sku, int available, string? name = null) =>
        (await Client.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = name ?? $"Item {sku}", Available = available }, cancellationToken: Ct)).Item;

    public AsyncUnaryCall<ReserveStockResponse> ReserveAsync(string reservationId, params (string Sku, int Quantity)[] lines)
    {
        var request = new ReserveStockRequest { ReservationId = reservationId };
        request.Lines.AddRange(lines.Select(l => new ReservationLine { Sku = l.Sku, Quantity = l.Quantity }));
        return Client.ReserveStockAsync(request, cancellationToken: Ct);
    }

    public AsyncUnaryCall<ReleaseReservationResponse> ReleaseAsync(string reservationId) =>
        Client.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = reservationId }, cancellationToken: Ct);

    /// <summary>The running test's token, for every call a test makes.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => Service.DisposeAsync();
}
