using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Orders.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core.Interceptors;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

using OrderStatus = Contoso.Retail.Orders.Model.OrderStatus;
using ReservationState = Contoso.Retail.Inventory.Model.ReservationState;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>The services started by the shared harness on real Kestrel, with quiet logs and a management endpoint.</summary>
internal static class QuietServices
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="interceptor">A server interceptor added to Inventory's pipeline (e.g. to count calls), or null.</param>
    public static Task<RunningService> StartInventoryAsync(IDictionary<string, string?> settings, Interceptor? interceptor = null) =>
        ServiceHosts.StartInventoryAsync(new()
        {
            Settings = Quiet(settings),
            Configure = builder =>
            {
                if (interceptor is not null)
                {
                    builder.AddServerInterceptor(interceptor);
                }
            },
        });

    /// <param name="inventory">Inventory's address - an http URL, or a dns:/// or static:/// target.</param>
    public static Task<RunningService> StartOrdersAsync(IDictionary<string, string?> settings, string inventory) =>
        ServiceHosts.StartOrdersAsync(new() { Settings = Quiet(settings) }, inventory);

    //#if (IncludeTelemetry)
    public static Task<RunningService> StartTelemetryAsync(IDictionary<string, string?> settings) =>
        ServiceHosts.StartTelemetryAsync(new() { Settings = Quiet(settings) });

    //#endif
    public static InventoryService.InventoryServiceClient InventoryClient(this RunningService service) => new(service.Channel);

    public static OrderService.OrderServiceClient OrdersClient(this RunningService service) => new(service.Channel);

    public static async Task StockAsync(this RunningService inventory, IReadOnlyDictionary<string, int> stock)
    {
        foreach (var (sku, available) in stock)
        {
            await inventory.InventoryClient().UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = sku, Available = available }, cancellationToken: Ct);
        }
    }

    /// <summary>A scenario's figures, published to TestResults/reliability/{scenario}.json under the repository root.</summary>
    public static Figures FiguresOf(string scenario) => new(scenario, Repository.PathOf("TestResults", "reliability", scenario + ".json"));

    /// <summary>How often the reliability tests poll: their conditions read both databases.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromMilliseconds(50);

    private static Dictionary<string, string?> Quiet(IDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>(settings)
        {
            ["Kestrel:Endpoints:Management:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Management:Protocols"] = "Http1",
        };
        all.TryAdd("Serilog:MinimumLevel:Default", "Error");
        all.TryAdd("Health:PublishDelay", "00:00:00");
        all.TryAdd("Health:PublishPeriod", "00:00:01");
        return all;
    }
}

/// <summary>
/// Orders and stock read straight from both databases, and the cross-checks that prove no order was half-done or
/// double-booked: stock taken exactly once per confirmed order, nothing held for an order that is not confirmed
/// (unless its release is still owed), available + reserved = what was stocked.
/// </summary>
internal sealed record Ledger(
    int Orders,
    int Confirmed,
    int Rejected,
    int Pending,
    int ReleaseOwed,
    int ActiveReservations,
    int ConfirmedWithoutReservation,
    int ReservationsWithoutConfirmedOrder,
    int DuplicateUnits,
    int MissingUnits,
    int UnitsNotAccountedFor,
    int LinesDiffering)
{
    public static async Task<Ledger> ReadAsync(RunningService orders, RunningService inventory, IReadOnlyDictionary<string, int> stocked)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var ordersScope = orders.Services.CreateAsyncScope();
        await using var inventoryScope = inventory.Services.CreateAsyncScope();
        var ordersDb = ordersScope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        var inventoryDb = inventoryScope.ServiceProvider.GetRequiredService<InventoryDbContext>();

        var allOrders = await ordersDb.Orders.AsNoTracking().Include(o => o.Lines).ToListAsync(ct);
        var reservations = await inventoryDb.Reservations.AsNoTracking().Include(r => r.Lines)
            .Where(r => r.State == ReservationState.Active).ToDictionaryAsync(r => r.ReservationId, ct);
        var items = await inventoryDb.Items.AsNoTracking().ToDictionaryAsync(i => i.Sku, ct);

        var confirmed = allOrders.Where(o => o.Status == OrderStatus.Confirmed).ToList();
        var owed = allOrders.Where(o => o.Status == OrderStatus.Pending || o.ReleasePending).Select(o => o.Id).ToHashSet();
        var confirmedIds = confirmed.Select(o => o.Id).ToHashSet();

        // Per SKU: what Inventory says is reserved, against what confirmed orders (and, at most, orders still owed a release) asked for.
        int duplicate = 0, missing = 0, unaccounted = 0;
        foreach (var (sku, initial) in stocked)
        {
            var item = items[sku];
            var confirmedUnits = confirmed.SelectMany(o => o.Lines).Where(l => l.Sku == sku).Sum(l => l.Quantity);
            var owedUnits = allOrders.Where(o => owed.Contains(o.Id)).SelectMany(o => o.Lines).Where(l => l.Sku == sku).Sum(l => l.Quantity);
            duplicate += Math.Max(0, item.Reserved - confirmedUnits - owedUnits);
            missing += Math.Max(0, confirmedUnits - item.Reserved);
            unaccounted += Math.Abs(item.Available + item.Reserved - initial);
        }

        var linesDiffering = confirmed.Count(o => reservations.TryGetValue(o.Id, out var r)
            && !r.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => (l.Sku, l.Quantity))
                .SequenceEqual(o.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => (l.Sku, l.Quantity))));

        return new Ledger(
            allOrders.Count,
            confirmed.Count,
            allOrders.Count(o => o.Status == OrderStatus.Rejected),
            allOrders.Count(o => o.Status == OrderStatus.Pending),
            allOrders.Count(o => o.ReleasePending),
            reservations.Count,
            confirmed.Count(o => !reservations.ContainsKey(o.Id)),
            reservations.Keys.Count(id => !confirmedIds.Contains(id) && !owed.Contains(id)),
            duplicate,
            missing,
            unaccounted,
            linesDiffering);
    }

    /// <summary>Statuses of the given orders by request id, read from the orders database.</summary>
    public static async Task<Dictionary<string, OrderStatus>> StatusesAsync(RunningService orders)
    {
        await using var scope = orders.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        return await db.Orders.AsNoTracking().ToDictionaryAsync(o => o.RequestId, o => o.Status, TestContext.Current.CancellationToken);
    }

    public void Record(Figures figures)
    {
        figures.Set("ledger", this);
    }

    /// <summary>Nothing double-booked, nothing lost, nothing held for an order that is not confirmed.</summary>
    public void AssertConsistent()
    {
        Assert.Equal(
            (ConfirmedWithoutReservation: 0, ReservationsWithoutConfirmedOrder: 0, DuplicateUnits: 0, MissingUnits: 0, UnitsNotAccountedFor: 0, LinesDiffering: 0),
            (ConfirmedWithoutReservation, ReservationsWithoutConfirmedOrder, DuplicateUnits, MissingUnits, UnitsNotAccountedFor, LinesDiffering));
    }
}
