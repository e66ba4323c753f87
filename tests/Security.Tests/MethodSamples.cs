using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>What hostile-input tests send to one method and what they accept back.</summary>
/// <param name="Valid">A request the method accepts (several messages for a client-streaming method): the seed the fuzz loop mutates.</param>
/// <param name="Invalid">A well-formed request breaking one contract rule.</param>
/// <param name="InvalidField">The field the INVALID_ARGUMENT's google.rpc.BadRequest must name for <paramref name="Invalid"/>.</param>
/// <param name="Outcomes">
/// Every status the method may answer a well-formed request with (what its proto comment promises): anything else
/// for a request that parses - INTERNAL above all - is a bug the fuzz loop reports.
/// </param>
public sealed record MethodSample(IMessage[] Valid, IMessage[] Invalid, string InvalidField, StatusCode[] Outcomes);

/// <summary>
/// One entry per contract method, by gRPC path. A test enumerates the compiled descriptors and fails for a method
/// without an entry, so a new RPC cannot skip the hostile-input suite.
/// </summary>
public static class MethodSamples
{
    public static readonly string[] SeedSkus = ["SEC-1", "SEC-2"];

    //#if (IncludeTelemetry)
    private static readonly DateTime T0 = new(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc);

    //#endif
    private static readonly StatusCode[] Lookup = [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound];
    private static readonly StatusCode[] Listing = [StatusCode.OK, StatusCode.InvalidArgument];

    public static readonly IReadOnlyDictionary<string, MethodSample> ByPath = new Dictionary<string, MethodSample>(StringComparer.Ordinal)
    {
        ["/inventory.v1.InventoryService/GetItem"] = new(
            [new GetItemRequest { Sku = "SEC-1" }], [new GetItemRequest { Sku = "" }], "sku", Lookup),
        ["/inventory.v1.InventoryService/ListItems"] = new(
            [new ListItemsRequest { PageSize = 10 }], [new ListItemsRequest { PageSize = -1 }], "page_size", Listing),
        ["/inventory.v1.InventoryService/UpsertItem"] = new(
            [new UpsertItemRequest { Sku = "SEC-2", Name = "Lamp", Available = 1_000_000 }],
            [new UpsertItemRequest { Sku = "SEC-3", Name = "Lamp", Available = -1 }], "available", Listing),
        ["/inventory.v1.InventoryService/ReserveStock"] = new(
            [new ReserveStockRequest { ReservationId = "res-fuzz", Lines = { new ReservationLine { Sku = "SEC-1", Quantity = 1 } } }],
            [new ReserveStockRequest { ReservationId = "res-bad" }], "lines",
            [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.FailedPrecondition, StatusCode.AlreadyExists]),
        ["/inventory.v1.InventoryService/ReleaseReservation"] = new(
            [new ReleaseReservationRequest { ReservationId = "res-fuzz-release" }], [new ReleaseReservationRequest()], "reservation_id", Listing),
        ["/inventory.v1.InventoryService/WatchStock"] = new(
            [new WatchStockRequest { Skus = { "SEC-1" } }], [new WatchStockRequest { Skus = { "not a sku!" } }], "skus[0]", Lookup),
        ["/orders.v1.OrderService/PlaceOrder"] = new(
            [new PlaceOrderRequest { RequestId = "req-fuzz", CustomerId = "cust-fuzz", Lines = { new OrderLine { Sku = "SEC-1", Quantity = 1 } } }],
            [new PlaceOrderRequest { RequestId = "req-bad", CustomerId = "cust-fuzz", Lines = { new OrderLine { Sku = "SEC-1", Quantity = 0 } } }],
            "lines[0].quantity",
            [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.FailedPrecondition, StatusCode.AlreadyExists]),
        ["/orders.v1.OrderService/GetOrder"] = new(
            [new GetOrderRequest { OrderId = "0199a000-0000-7000-8000-000000000001" }], [new GetOrderRequest()], "order_id", Lookup),
        ["/orders.v1.OrderService/ListOrders"] = new(
            [new ListOrdersRequest { CustomerId = "cust-fuzz", PageSize = 5 }], [new ListOrdersRequest { PageSize = 5 }], "customer_id", Listing),
        ["/orders.v1.OrderService/CancelOrder"] = new(
            [new CancelOrderRequest { OrderId = "0199a000-0000-7000-8000-000000000001", Reason = "fuzz" }], [new CancelOrderRequest()], "order_id",
            [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition]),
        //#if (IncludeTelemetry)
        ["/telemetry.v1.TelemetryIngestService/Ingest"] = new(
            [new IngestRequest { Points = { Point("dev-fuzz", 0), Point("dev-fuzz", 1) } }, new IngestRequest { Points = { Point("dev-fuzz", 2) } }],
            [new IngestRequest { Points = { Point("", 0) } }], "points[0].device_id",
            [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.ResourceExhausted]),
        ["/telemetry.v1.TelemetryIngestService/StreamIngest"] = new(
            [new StreamIngestRequest { BatchId = "fuzz-1", Points = { Point("dev-fuzz", 3) } }, new StreamIngestRequest { BatchId = "fuzz-2", Points = { Point("dev-fuzz", 4) } }],
            [new StreamIngestRequest { BatchId = "", Points = { Point("dev-fuzz", 5) } }], "batch_id", Listing),
        ["/telemetry.v1.TelemetryIngestService/IngestBatch"] = new(
            [new IngestBatchRequest { BatchId = "fuzz-batch-1", Points = { Point("dev-fuzz", 6), Point("dev-fuzz", 7) } }],
            [new IngestBatchRequest { BatchId = "fuzz-batch-2" }], "points", Listing),
        ["/telemetry.v1.TelemetryIngestService/Query"] = new(
            [new QueryRequest { DeviceId = "dev-fuzz", StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddHours(1)), Limit = 10 }],
            [new QueryRequest { StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddHours(1)) }], "device_id", Listing),
        //#endif
    };

    //#if (IncludeTelemetry)
    public static Point Point(string device, int second) => new()
    {
        DeviceId = device,
        Metric = "temperature_c",
        Timestamp = Timestamp.FromDateTime(T0.AddSeconds(second)),
        Value = 20.5,
        Labels = { ["room"] = "lab" },
    };
    //#endif
}
