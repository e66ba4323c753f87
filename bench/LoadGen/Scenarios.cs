using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

using Npgsql;

using NpgsqlTypes;

namespace Contoso.Retail.LoadGen;

/// <summary>The scenarios `loadgen run --scenario NAME` knows.</summary>
public static class Scenarios
{
    /// <summary>The SKUs the Inventory sample data seeds (Inventory:SeedSampleData) and the peer servers serve.</summary>
    public static readonly string[] SampleSkus = ["KB-001", "MS-002", "MN-003", "HS-004", "CB-005", "DK-006", "WC-007", "LS-008"];

    public static readonly string[] Names =
    [
        "get-item",
        "place-order",
        "watch-stock",
        //#if (IncludeTelemetry)
        "query",
        "stream-ingest",
        //#endif
        "pg-copy",
    ];

    public static async Task<IScenario> CreateAsync(string name, Arguments args, LoadOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(options);
        if (name == "pg-copy")
        {
            var connectionString = args.Required("pg");
            var rows = args.Count("batch-size", 1000);
            args.ThrowIfUnknown();
            return new PgCopy(connectionString, rows, RunId());
        }

        if (!Names.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown scenario '{name}'; one of: {string.Join(", ", Names)}.");
        }

        // Options are read before connecting so a typo fails fast.
        var skus = args.List("sku", name == "place-order" ? ["BENCH-1"] : SampleSkus);
        var messages = args.Count("messages", 100);
        var batchSize = args.Count("batch-size", 1000);
        var device = args.Get("device", "bench-device-0");
        var token = Channels.TokenFrom(args);
        var ledgerFile = name == "place-order" ? args.Get("ledger") : null;
        args.ThrowIfUnknown();

        var channels = await Channels.OpenAsync(options.Target, options.Connections, token, cancellationToken);
        return name switch
        {
            "get-item" => new GetItem(channels, skus),
            "place-order" => new PlaceOrder(channels, skus, ledgerFile),
            "watch-stock" => new WatchStock(channels, messages),
            //#if (IncludeTelemetry)
            "query" => new Query(channels, device),
            "stream-ingest" => new StreamIngest(channels, batchSize, RunId()),
            //#endif
            _ => throw new ArgumentException($"Unknown scenario '{name}'."),
        };
    }

    /// <summary>Keeps batch ids and device ids of one run apart from every other run's.</summary>
    private static string RunId() => Guid.NewGuid().ToString("N")[..8];

    /// <summary>The telemetry rows both ingest paths write: one device per worker, a point a millisecond.</summary>
    internal static (string Device, string Metric, DateTime Timestamp, double Value) PointOf(string runId, int worker, long sequence) =>
        ($"bench-{runId}-{worker}", "temperature_c", DateTime.UnixEpoch.AddYears(56).AddMilliseconds(sequence), 20 + (sequence % 100 / 10.0));

    internal const string LabelsJson = """{"site":"bench"}""";

    private abstract class GrpcScenario(Channels channels, string unit) : IScenario
    {
        protected Channels Channels => channels;

        public string ItemUnit => unit;

        public abstract ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken);

        public virtual ValueTask DisposeAsync()
        {
            channels.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class GetItem(Channels channels, IReadOnlyList<string> skus) : GrpcScenario(channels, "calls")
    {
        public override ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IWorker>(new Worker(
                new InventoryService.InventoryServiceClient(Channels.For(index)),
                [.. skus.Select(sku => new GetItemRequest { Sku = sku })],
                Channels.CallOptions,
                index));

        private sealed class Worker(InventoryService.InventoryServiceClient client, GetItemRequest[] requests, CallOptions options, int next) : IWorker
        {
            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                var request = requests[next++ % requests.Length];
                await client.GetItemAsync(request, options.WithCancellationToken(cancellationToken));
                return 1;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private sealed class PlaceOrder(Channels channels, IReadOnlyList<string> skus, string? ledgerFile) : GrpcScenario(channels, "orders")
    {
        private readonly PlaceOrderLedger _ledger = new();

        public override ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IWorker>(new Worker(new OrderService.OrderServiceClient(Channels.For(index)), skus, Channels.CallOptions, index, _ledger));

        public override ValueTask DisposeAsync()
        {
            if (ledgerFile is not null)
            {
                _ledger.Write(ledgerFile);
            }

            return base.DisposeAsync();
        }

        private sealed class Worker(OrderService.OrderServiceClient client, IReadOnlyList<string> skus, CallOptions options, int index, PlaceOrderLedger ledger)
            : IWorker
        {
            // Workers start at different SKUs, so with as many SKUs as workers no two share a row at first.
            private readonly string _customer = $"bench-customer-{index}";
            private int _next = index;

            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                var sku = skus[_next++ % skus.Count];
                var request = new PlaceOrderRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    CustomerId = _customer,
                    Lines = { new OrderLine { Sku = sku, Quantity = 1 } },
                };
                PlaceOrderResponse response;
                try
                {
                    response = await client.PlaceOrderAsync(request, options.WithCancellationToken(cancellationToken));
                }
                catch (Exception ex) when (ex is not RpcException { StatusCode: StatusCode.FailedPrecondition })
                {
                    // No answer: the order may or may not have been placed.
                    ledger.Unanswered.AddOrUpdate(sku, 1, (_, units) => units + 1);
                    throw;
                }

                if (response.Order.Status != OrderStatus.Confirmed)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Order {response.Order.Status}"));
                }

                ledger.Acknowledged.AddOrUpdate(sku, 1, (_, units) => units + 1);
                return 1;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Opens WatchStock for every item, reads the first N messages (the initial levels), cancels.</summary>
    private sealed class WatchStock(Channels channels, int messages) : GrpcScenario(channels, "messages")
    {
        public override ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IWorker>(new Worker(new InventoryService.InventoryServiceClient(Channels.For(index)), messages, Channels.CallOptions));

        private sealed class Worker(InventoryService.InventoryServiceClient client, int messages, CallOptions options) : IWorker
        {
            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var call = client.WatchStock(new WatchStockRequest(), options.WithCancellationToken(stop.Token));
                long read = 0;
                while (read < messages && await call.ResponseStream.MoveNext(stop.Token))
                {
                    read++;
                }

                await stop.CancelAsync();
                return read == messages
                    ? read
                    : throw new InvalidOperationException($"WatchStock sent {read} initial levels, fewer than --messages {messages}.");
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    //#if (IncludeTelemetry)
    /// <summary>Telemetry Query over all of one device's points; counts messages.</summary>
    private sealed class Query(Channels channels, string device) : GrpcScenario(channels, "messages")
    {
        public override ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IWorker>(new Worker(
                new TelemetryIngestService.TelemetryIngestServiceClient(Channels.For(index)),
                new QueryRequest
                {
                    DeviceId = device,
                    StartTime = Timestamp.FromDateTime(DateTime.UnixEpoch),
                    EndTime = Timestamp.FromDateTime(new DateTime(2200, 1, 1, 0, 0, 0, DateTimeKind.Utc)),
                },
                Channels.CallOptions));

        private sealed class Worker(TelemetryIngestService.TelemetryIngestServiceClient client, QueryRequest request, CallOptions options) : IWorker
        {
            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                using var call = client.Query(request, options.WithCancellationToken(cancellationToken));
                long messages = 0;
                while (await call.ResponseStream.MoveNext(cancellationToken))
                {
                    messages++;
                }

                return messages > 0 ? messages : throw new InvalidOperationException($"Query for {request.DeviceId} returned no points.");
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>One StreamIngest stream per worker; an operation is one batch sent and acknowledged (committed).</summary>
    private sealed class StreamIngest(Channels channels, int batchSize, string runId) : GrpcScenario(channels, "points")
    {
        public override ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken)
        {
            var client = new TelemetryIngestService.TelemetryIngestServiceClient(Channels.For(index));
            return ValueTask.FromResult<IWorker>(new Worker(client.StreamIngest(Channels.CallOptions), batchSize, runId, index));
        }

        private sealed class Worker(AsyncDuplexStreamingCall<StreamIngestRequest, StreamIngestResponse> call, int batchSize, string runId, int index) : IWorker
        {
            private long _sequence;
            private long _batch;

            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                var request = new StreamIngestRequest { BatchId = $"{runId}-{index}-{_batch++}" };
                for (var i = 0; i < batchSize; i++)
                {
                    var (device, metric, timestamp, value) = PointOf(runId, index, _sequence++);
                    request.Points.Add(new Point
                    {
                        DeviceId = device,
                        Metric = metric,
                        Timestamp = Timestamp.FromDateTime(timestamp),
                        Value = value,
                        Labels = { ["site"] = "bench" },
                    });
                }

                await call.RequestStream.WriteAsync(request, cancellationToken);
                if (!await call.ResponseStream.MoveNext(cancellationToken))
                {
                    throw new RpcException(call.GetStatus());
                }

                return call.ResponseStream.Current.AcceptedPoints;
            }

            public async ValueTask DisposeAsync()
            {
                try
                {
                    await call.RequestStream.CompleteAsync();
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                }
                catch (RpcException)
                {
                    // The stream may already be broken (the run was aborted); the measurements are taken.
                }

                call.Dispose();
            }
        }
    }

    //#endif
    /// <summary>
    /// The floor under StreamIngest on PostgreSQL: the same rows written straight to the same table with Npgsql
    /// binary COPY, one transaction a batch, no gRPC and no batch-id bookkeeping.
    /// </summary>
    private sealed class PgCopy(string connectionString, int batchSize, string runId) : IScenario
    {
        private const string Copy = "COPY points (device_id, metric, timestamp, value, labels) FROM STDIN (FORMAT BINARY)";

        private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

        public string ItemUnit => "points";

        public async ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) =>
            new Worker(await _dataSource.OpenConnectionAsync(cancellationToken), batchSize, runId, index);

        public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

        private sealed class Worker(NpgsqlConnection connection, int batchSize, string runId, int index) : IWorker
        {
            private long _sequence;

            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var importer = await connection.BeginBinaryImportAsync(Copy, cancellationToken))
                {
                    for (var i = 0; i < batchSize; i++)
                    {
                        var (device, metric, timestamp, value) = PointOf(runId, index, _sequence++);
                        await importer.StartRowAsync(cancellationToken);
                        await importer.WriteAsync(device, NpgsqlDbType.Varchar, cancellationToken);
                        await importer.WriteAsync(metric, NpgsqlDbType.Varchar, cancellationToken);
                        await importer.WriteAsync(timestamp, NpgsqlDbType.TimestampTz, cancellationToken);
                        await importer.WriteAsync(value, NpgsqlDbType.Double, cancellationToken);
                        await importer.WriteAsync(LabelsJson, NpgsqlDbType.Jsonb, cancellationToken);
                    }

                    await importer.CompleteAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                return batchSize;
            }

            public ValueTask DisposeAsync() => connection.DisposeAsync();
        }
    }
}
