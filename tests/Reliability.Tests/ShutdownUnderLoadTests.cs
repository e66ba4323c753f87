using System.Collections.Concurrent;
using System.Globalization;

using Contoso.Retail.Contracts.Inventory.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Core.Interceptors;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>The host stops (what SIGTERM does) while unary calls and streams are in flight.</summary>
public sealed class ShutdownUnderLoadTests
{
    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Stopping_Inventory_under_load_completes_every_call_in_flight_and_ends_every_watch_with_a_status(DatabaseProvider provider)
    {
        var figures = FiguresOf($"shutdown-inventory-{provider.ToString().ToLowerInvariant()}");
        await using var db = await TestDatabase.CreateAsync(provider);
        var slow = new SlowReservations();
        var settings = db.Settings("Inventory");
        settings["Shutdown:Timeout"] = "00:00:20";
        var inventory = await StartInventoryAsync(settings, slow);
        await inventory.StockAsync(new Dictionary<string, int> { ["KB-001"] = 100_000 });
        var client = inventory.InventoryClient();
        var confirmed = new ConcurrentBag<string>();
        var stopped = false;

        try
        {
            var watches = Enumerable.Range(0, 3).Select(_ => client.WatchStock(new WatchStockRequest(), cancellationToken: Ct)).ToList();
            foreach (var watch in watches)
            {
                Assert.True(await watch.ResponseStream.MoveNext(Ct));
            }

            var next = 0;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var load = Load.RunUntilAsync(16, async (_, ct) =>
            {
                var id = $"r-{Interlocked.Increment(ref next).ToString(CultureInfo.InvariantCulture)}";
                var (status, _) = await Load.TimedAsync(() => client.ReserveStockAsync(
                    new ReserveStockRequest { ReservationId = id, Lines = { new ReservationLine { Sku = "KB-001", Quantity = 1 } } },
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: CancellationToken.None).ResponseAsync);
                figures.Outcome(slow.Stopping ? "reserve.during_stop" : "reserve.before_stop", status);
                if (status == StatusCode.OK)
                {
                    confirmed.Add(id);
                }
                else
                {
                    await stop.CancelAsync();
                }
            }, stop.Token);

            await Eventually.HoldsAsync(() => Task.FromResult(slow.InFlight >= 8 && figures.Count("reserve.before_stop.ok") >= 20), "calls in flight", TimeSpan.FromSeconds(60), PollInterval);
            slow.Stopping = true;
            figures.Set("in_flight_at_stop", slow.InFlight);
            await inventory.App.StopAsync(Ct);
            await load;
            var watchEnds = await Task.WhenAll(watches.Select(async watch =>
            {
                try
                {
                    while (await watch.ResponseStream.MoveNext(Ct))
                    {
                    }

                    return StatusCode.OK;
                }
                catch (RpcException ex)
                {
                    return ex.StatusCode;
                }
            }));
            foreach (var end in watchEnds)
            {
                figures.Outcome("watch_stock.end", end);
            }

            // A stopping Inventory ends each watch with UNAVAILABLE (retry elsewhere), never OK (a stream that looks
            // finished). CANCELLED, probably the connection closing before the trailers went out (1 run in 5 under a concurrent
            // build, all three watches at once) - a shutdown race still to fix in the product, tolerated here.
            Assert.All(watchEnds, end => Assert.Contains(end, new[] { StatusCode.Unavailable, StatusCode.Cancelled }));

            // Every call the server had started finished OK; and it is all in the database.
            Assert.Equal(slow.Entered, slow.Completed);
            Assert.Equal(0, figures.Count("reserve.before_stop.UNAVAILABLE") + figures.Count("reserve.before_stop.INTERNAL"));
            Assert.True(figures.Count("reserve.during_stop.ok") >= 8, $"In-flight calls should have completed: {figures.FailuresOf("reserve.during_stop")}.");
            await inventory.DisposeAsync();
            stopped = true;
            await using var after = await StartInventoryAsync(db.Settings("Inventory"));
            var item = (await after.InventoryClient().GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct)).Item;
            figures.Set("reservations_confirmed", confirmed.Count);
            figures.Set("units_reserved_after_restart", item.Reserved);
            Assert.Equal(confirmed.Count, item.Reserved);
        }
        finally
        {
            if (!stopped)
            {
                await inventory.DisposeAsync();
            }

            figures.Publish();
        }
    }

    //#if (IncludeTelemetry)
    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Stopping_TelemetryIngest_under_load_ends_every_stream_UNAVAILABLE_and_keeps_every_acknowledged_batch(DatabaseProvider provider)
    {
        var figures = FiguresOf($"shutdown-telemetry-{provider.ToString().ToLowerInvariant()}");
        await using var db = await TestDatabase.CreateAsync(provider);
        var settings = db.Settings("Telemetry");
        settings["Shutdown:Timeout"] = "00:00:20";
        var telemetry = await StartTelemetryAsync(settings);
        var client = new TelemetryIngestService.TelemetryIngestServiceClient(telemetry.Channel);
        var acked = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var stopped = false;

        try
        {
            var streams = Enumerable.Range(0, 4).Select(device => Task.Run(async () =>
            {
                using var call = client.StreamIngest(cancellationToken: Ct);
                var writer = Task.Run(async () =>
                {
                    try
                    {
                        for (var batch = 0; ; batch++)
                        {
                            await call.RequestStream.WriteAsync(Batch(device, batch), Ct);
                        }
                    }
                    catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or OperationCanceledException)
                    {
                        // The stream ended under the writer; the reader reports its status.
                    }
                }, Ct);
                try
                {
                    await foreach (var ack in call.ResponseStream.ReadAllAsync(Ct))
                    {
                        acked[ack.BatchId] = ack.AcceptedPoints;
                    }

                    return StatusCode.OK;
                }
                catch (RpcException ex)
                {
                    figures.Reason(ex);
                    return ex.StatusCode;
                }
                finally
                {
                    await writer;
                }
            }, Ct)).ToList();

            await Eventually.HoldsAsync(() => Task.FromResult(acked.Count >= 40), "batches acknowledged", TimeSpan.FromSeconds(60), PollInterval);
            await telemetry.App.StopAsync(Ct);
            var ends = await Task.WhenAll(streams);
            foreach (var end in ends)
            {
                figures.Outcome("stream_ingest.end", end);
            }

            await telemetry.DisposeAsync();
            stopped = true;
            await using var after = await StartTelemetryAsync(db.Settings("Telemetry"));
            var stored = 0;
            for (var device = 0; device < 4; device++)
            {
                using var query = new TelemetryIngestService.TelemetryIngestServiceClient(after.Channel).Query(
                    new QueryRequest { DeviceId = $"stop-{device}", StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddDays(1)) },
                    cancellationToken: Ct);
                await foreach (var chunk in query.ResponseStream.ReadAllAsync(Ct))
                {
                    stored += chunk.Points.Count;
                }
            }

            figures.Set("batches_acknowledged", acked.Count);
            figures.Set("points_acknowledged", acked.Values.Sum());
            figures.Set("points_stored", stored);
            // Every stream ends with a status instead of hanging. Mostly UNAVAILABLE from the service; under load a
            // stream sometimes loses the race with the connection closing and the client reports INTERNAL
            // ("the HTTP/2 server closed the connection") - see docs/reliability.md, open issues.
            Assert.All(ends, end => Assert.Contains(end, new[] { StatusCode.Unavailable, StatusCode.Internal }));
            Assert.Contains(StatusCode.Unavailable, ends);
            // Nothing acknowledged is lost; a batch committed as the stream was cut (never acknowledged) may be there too.
            Assert.InRange(stored, acked.Values.Sum(), acked.Values.Sum() + (4 * PointsPerBatch));
        }
        finally
        {
            if (!stopped)
            {
                await telemetry.DisposeAsync();
            }

            figures.Publish();
        }
    }

    private const int PointsPerBatch = 50;
    private static readonly DateTime T0 = new(2025, 7, 1, 0, 0, 0, DateTimeKind.Utc);

    private static StreamIngestRequest Batch(int device, int batch)
    {
        var request = new StreamIngestRequest { BatchId = $"stop-{device}-{batch}" };
        for (var i = 0; i < PointsPerBatch; i++)
        {
            request.Points.Add(new Point
            {
                DeviceId = $"stop-{device}",
                Metric = "load",
                Timestamp = Timestamp.FromDateTime(T0.AddSeconds(batch).AddMilliseconds(i)),
                Value = i,
            });
        }

        return request;
    }

    //#endif
    /// <summary>ReserveStock takes 200 ms in the server, so calls are reliably in flight when the stop comes.</summary>
    private sealed class SlowReservations : Interceptor
    {
        private int _entered;
        private int _completed;
        private volatile bool _stopping;

        public int Entered => Volatile.Read(ref _entered);

        public int Completed => Volatile.Read(ref _completed);

        public int InFlight => Entered - Completed;

        public bool Stopping
        {
            get => _stopping;
            set => _stopping = value;
        }

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            if (request is not ReserveStockRequest)
            {
                return await continuation(request, context);
            }

            Interlocked.Increment(ref _entered);
            try
            {
                await Task.Delay(200, context.CancellationToken);
                return await continuation(request, context);
            }
            finally
            {
                Interlocked.Increment(ref _completed);
            }
        }
    }
}
