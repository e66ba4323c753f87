using System.Buffers;

using BenchmarkDotNet.Attributes;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Contoso.Retail.Micro;

/// <summary>Protobuf write and parse of the main messages, through IBufferWriter / ReadOnlySequence as grpc-dotnet does.</summary>
[MemoryDiagnoser]
public class SerializationBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024 * 1024);
    private GetItemResponse _item = null!;
    private PlaceOrderRequest _placeOrder = null!;
    private PlaceOrderResponse _order = null!;
    //#if (IncludeTelemetry)
    private StreamIngestRequest _batch = null!;
    //#endif
    private ReadOnlySequence<byte> _itemBytes;
    private ReadOnlySequence<byte> _orderBytes;
    //#if (IncludeTelemetry)
    private ReadOnlySequence<byte> _batchBytes;
    //#endif

    [GlobalSetup]
    public void Setup()
    {
        var now = Timestamp.FromDateTime(new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc));
        _item = new GetItemResponse { Item = new Item { Sku = "KB-001", Name = "Mechanical keyboard", Available = 50, Reserved = 3, UpdatedAt = now } };
        _placeOrder = new PlaceOrderRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            CustomerId = "customer-42",
            Lines = { new OrderLine { Sku = "KB-001", Quantity = 1 }, new OrderLine { Sku = "MS-002", Quantity = 2 } },
        };
        _order = new PlaceOrderResponse
        {
            Order = new Order
            {
                OrderId = Guid.NewGuid().ToString(),
                RequestId = _placeOrder.RequestId,
                CustomerId = _placeOrder.CustomerId,
                Lines = { _placeOrder.Lines },
                Status = OrderStatus.Confirmed,
                CreatedAt = now,
                UpdatedAt = now,
            },
        };
        //#if (IncludeTelemetry)
        _batch = new StreamIngestRequest { BatchId = "device-7-1" };
        for (var i = 0; i < 1000; i++)
        {
            _batch.Points.Add(new Point
            {
                DeviceId = "device-7",
                Metric = "temperature_c",
                Timestamp = Timestamp.FromDateTime(new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc).AddMilliseconds(i)),
                Value = 20 + (i % 100 / 10.0),
                Labels = { ["site"] = "lab" },
            });
        }

        //#endif
        _itemBytes = new ReadOnlySequence<byte>(_item.ToByteArray());
        _orderBytes = new ReadOnlySequence<byte>(_order.ToByteArray());
        //#if (IncludeTelemetry)
        _batchBytes = new ReadOnlySequence<byte>(_batch.ToByteArray());
        //#endif
    }

    [Benchmark]
    public int WriteGetItemResponse() => Write(_item);

    [Benchmark]
    public GetItemResponse ParseGetItemResponse() => GetItemResponse.Parser.ParseFrom(_itemBytes);

    [Benchmark]
    public int WritePlaceOrderRequest() => Write(_placeOrder);

    [Benchmark]
    public int WritePlaceOrderResponse() => Write(_order);

    [Benchmark]
    public PlaceOrderResponse ParsePlaceOrderResponse() => PlaceOrderResponse.Parser.ParseFrom(_orderBytes);

    //#if (IncludeTelemetry)
    [Benchmark]
    public int WriteStreamIngestBatch1000() => Write(_batch);

    [Benchmark]
    public StreamIngestRequest ParseStreamIngestBatch1000() => StreamIngestRequest.Parser.ParseFrom(_batchBytes);

    //#endif
    private int Write(IMessage message)
    {
        _buffer.ResetWrittenCount();
        message.WriteTo(_buffer);
        return _buffer.WrittenCount;
    }
}
