using System.Globalization;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.DevHost;

/// <summary>
/// `--demo`: a short tour of the running system through real gRPC clients, narrated on the console.
/// Relies on Inventory's sample data (a fresh data folder): KB-001 is plentiful, DK-006 has 3 units.
/// </summary>
/// <param name="token">A bearer token with the scopes the demo's calls need.</param>
public sealed class Demo(DevHostSystem system, TextWriter output, string token)
{
    /// <summary>What the demo calls: items, stock, orders (of two customers, hence orders.admin) and the rest, read and write.</summary>
    public static readonly string[] Scopes =
    [
        "inventory.read",
        "inventory.write",
        "orders.read",
        "orders.write",
        "orders.admin",
        //#if (IncludeTelemetry)
        "telemetry.read",
        "telemetry.write",
        //#endif
    ];

    private const string PlentifulSku = "KB-001";
    private const string ScarceSku = "DK-006";
    private const string MonitorSku = "MN-003";
    internal static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);

    /// <returns>0 when every step did what it should, 1 otherwise.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var inventoryChannel = BearerChannel.ForAddress(system.Inventory, token);
        using var ordersChannel = BearerChannel.ForAddress(system.Orders, token);
        //#if (IncludeTelemetry)
        using var telemetryChannel = BearerChannel.ForAddress(system.Telemetry, token);
        //#endif
        var inventory = new InventoryService.InventoryServiceClient(inventoryChannel);
        var orders = new OrderService.OrderServiceClient(ordersChannel);
        //#if (IncludeTelemetry)
        var telemetry = new TelemetryIngestService.TelemetryIngestServiceClient(telemetryChannel);
        //#endif

        try
        {
            await ListItemsAsync(inventory, cancellationToken);
            using var watch = new StockWatch(inventory, ScarceSku, output, cancellationToken);
            await watch.NextAsync("initial level", l => l.Available == 3 && l.Reserved == 0);

            var confirmed = await PlaceConfirmedOrderAsync(orders, cancellationToken);
            await watch.NextAsync("after the order", l => l.Available == 1 && l.Reserved == 2);
            await PlaceRejectedOrderAsync(orders, cancellationToken);

            await CancelOrderAsync(orders, inventory, confirmed, cancellationToken);
            await watch.NextAsync("after the cancel", l => l.Available == 3 && l.Reserved == 0);
            //#if (IncludeTelemetry)

            await SendTelemetryAsync(telemetry, cancellationToken);
            //#endif
        }
        catch (Exception ex) when (ex is DemoFailure or RpcException)
        {
            await output.WriteLineAsync($"demo FAILED: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await output.WriteLineAsync("demo interrupted");
            return 1;
        }

        await output.WriteLineAsync("demo finished: every step did what it should");
        return 0;
    }

    private async Task ListItemsAsync(InventoryService.InventoryServiceClient inventory, CancellationToken cancellationToken)
    {
        var page = await inventory.ListItemsAsync(new ListItemsRequest(), deadline: Deadline(), cancellationToken: cancellationToken);
        await Say($"== ListItems: {page.Items.Count} items in the inventory");
        foreach (var item in page.Items)
        {
            await Say($"   {item.Sku,-8} {item.Name,-30} {item.Available,5} available");
        }

        var scarce = page.Items.FirstOrDefault(i => i.Sku == ScarceSku);
        Expect(scarce is { Available: 3, Reserved: 0 } && page.Items.Any(i => i.Sku == PlentifulSku),
            $"expected the sample data ({ScarceSku} with 3 available); start the demo with a fresh --data-dir");
        await Say($"== WatchStock {ScarceSku}: the stream sends the current level, then every change");
    }

    private async Task<Order> PlaceConfirmedOrderAsync(OrderService.OrderServiceClient orders, CancellationToken cancellationToken)
    {
        var request = Order("alice", (PlentifulSku, 2), (ScarceSku, 2));
        await Say($"== PlaceOrder for alice: {Lines(request.Lines)}");
        var order = (await orders.PlaceOrderAsync(request, deadline: Deadline(), cancellationToken: cancellationToken)).Order;
        await Say($"   {order.Status.ToString().ToUpperInvariant()}: order {order.OrderId}");
        Expect(order.Status == OrderStatus.Confirmed, "alice's order should be confirmed");

        var again = (await orders.PlaceOrderAsync(request, deadline: Deadline(), cancellationToken: cancellationToken)).Order;
        await Say($"   sent again with the same request_id: same order {again.OrderId}, stock reserved once");
        Expect(again.OrderId == order.OrderId, "a retried PlaceOrder should return the same order");
        return order;
    }

    private async Task PlaceRejectedOrderAsync(OrderService.OrderServiceClient orders, CancellationToken cancellationToken)
    {
        var request = Order("bob", (ScarceSku, 2), (MonitorSku, 20));
        await Say($"== PlaceOrder for bob: {Lines(request.Lines)}");
        try
        {
            var order = (await orders.PlaceOrderAsync(request, deadline: Deadline(), cancellationToken: cancellationToken)).Order;
            throw new DemoFailure($"bob's order should be rejected, but it is {order.Status}");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            await Say($"   rejected: {ex.StatusCode}: {ex.Status.Detail}");
            var violations = ex.GetRpcStatus()?.GetDetail<PreconditionFailure>()?.Violations ?? [];
            foreach (var violation in violations)
            {
                await Say($"     {violation.Subject}: {violation.Type} ({violation.Description})");
            }

            Expect(violations.Any(v => v.Subject == ScarceSku), $"the rejection should name {ScarceSku}");
        }
    }

    private async Task CancelOrderAsync(
        OrderService.OrderServiceClient orders, InventoryService.InventoryServiceClient inventory, Order order, CancellationToken cancellationToken)
    {
        await Say($"== CancelOrder {order.OrderId}");
        var cancelled = (await orders.CancelOrderAsync(
            new CancelOrderRequest { OrderId = order.OrderId, Reason = "changed my mind" }, deadline: Deadline(), cancellationToken: cancellationToken)).Order;
        var item = (await inventory.GetItemAsync(new GetItemRequest { Sku = ScarceSku }, deadline: Deadline(), cancellationToken: cancellationToken)).Item;
        await Say($"   {cancelled.Status.ToString().ToUpperInvariant()}; GetItem {ScarceSku}: {item.Available} available, {item.Reserved} reserved again");
        Expect(cancelled.Status == OrderStatus.Cancelled && item.Available == 3, "cancelling should give the stock back");
    }

    //#if (IncludeTelemetry)
    private async Task SendTelemetryAsync(TelemetryIngestService.TelemetryIngestServiceClient telemetry, CancellationToken cancellationToken)
    {
        const int Points = 200, BatchSize = 50;
        string[] devices = ["sensor-1", "sensor-2", "sensor-3"];
        var end = DateTime.UtcNow;
        await Say($"== StreamIngest: {devices.Length} devices x {Points} points in batches of {BatchSize}, each batch acknowledged once committed");
        var acks = await Task.WhenAll(devices.Select(d => StreamDeviceAsync(telemetry, d, Points, BatchSize, end, cancellationToken)));
        foreach (var (device, deviceAcks) in devices.Zip(acks))
        {
            await Say($"   {device}: acks {string.Join(", ", deviceAcks.Select(a => $"{a.BatchId} ({a.AcceptedPoints})"))}");
            Expect(deviceAcks.Sum(a => a.AcceptedPoints) == Points, $"{device} should have {Points} points acknowledged");
        }

        await Say("== Query (server streaming) the last hour back");
        foreach (var device in devices)
        {
            var request = new QueryRequest
            {
                DeviceId = device,
                StartTime = Timestamp.FromDateTime(end.AddHours(-1)),
                EndTime = Timestamp.FromDateTime(end.AddSeconds(1)),
            };
            using var call = telemetry.Query(request, deadline: Deadline(), cancellationToken: cancellationToken);
            var values = new List<double>();
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                values.AddRange(response.Points.Select(p => p.Value));
            }

            Expect(values.Count == Points, $"{device} should have {Points} points stored, found {values.Count}");
            await Say(string.Create(CultureInfo.InvariantCulture,
                $"   {device} temperature_c: {values.Count} points, min {values.Min():0.00}, max {values.Max():0.00}"));
        }
    }

    private static async Task<List<StreamIngestResponse>> StreamDeviceAsync(
        TelemetryIngestService.TelemetryIngestServiceClient telemetry, string device, int points, int batchSize, DateTime end,
        CancellationToken cancellationToken)
    {
        using var call = telemetry.StreamIngest(deadline: Deadline(), cancellationToken: cancellationToken);
        var reading = Task.Run(async () =>
        {
            var acks = new List<StreamIngestResponse>();
            await foreach (var ack in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                acks.Add(ack);
            }

            return acks;
        }, cancellationToken);

        foreach (var batch in Batches(device, points, batchSize, end))
        {
            await call.RequestStream.WriteAsync(batch, cancellationToken);
        }

        await call.RequestStream.CompleteAsync();
        return await reading;
    }

    /// <summary>A temperature wave (a degree warmer per device), a point a second up to <paramref name="end"/>.</summary>
    private static IEnumerable<StreamIngestRequest> Batches(string device, int points, int batchSize, DateTime end) =>
        Enumerable.Range(0, points)
            .Select(i => new Point
            {
                DeviceId = device,
                Metric = "temperature_c",
                Timestamp = Timestamp.FromDateTime(end.AddSeconds(i - points + 1)),
                Value = Math.Round(18 + (device[^1] - '0') + (4 * Math.Sin(i / 15.0)), 2),
            })
            .Chunk(batchSize)
            .Select((chunk, index) => new StreamIngestRequest { BatchId = $"{device}-{index + 1}", Points = { chunk } });

    //#endif
    private static PlaceOrderRequest Order(string customer, params (string Sku, int Quantity)[] lines) => new()
    {
        RequestId = Guid.NewGuid().ToString(),
        CustomerId = customer,
        Lines = { lines.Select(l => new OrderLine { Sku = l.Sku, Quantity = l.Quantity }) },
    };

    private static string Lines(IEnumerable<OrderLine> lines) => string.Join(", ", lines.Select(l => $"{l.Sku} x{l.Quantity}"));

    private static DateTime Deadline() => DateTime.UtcNow + StepTimeout;

    private static void Expect(bool condition, string failure)
    {
        if (!condition)
        {
            throw new DemoFailure(failure);
        }
    }

    private Task Say(string line) => output.WriteLineAsync(line);
}
