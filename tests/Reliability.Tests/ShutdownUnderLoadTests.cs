using System.Collections.Concurrent;
using System.Globalization;

using Contoso.Retail.Contracts.Inventory.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

using ReservationState = Contoso.Retail.Inventory.Model.ReservationState;

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
        var outcomes = new ConcurrentDictionary<string, RpcException?>(StringComparer.Ordinal);
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
                RpcException? failure = null;
                try
                {
                    await client.ReserveStockAsync(
                        new ReserveStockRequest { ReservationId = id, Lines = { new ReservationLine { Sku = "KB-001", Quantity = 1 } } },
                        deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: CancellationToken.None);
                }
                catch (RpcException ex)
                {
                    failure = ex;
                    await stop.CancelAsync();
                }

                outcomes[id] = failure;
                figures.Outcome(slow.Stopping ? "reserve.during_stop" : "reserve.before_stop", failure?.StatusCode ?? StatusCode.OK);
            }, stop.Token);

            await Eventually.HoldsAsync(() => Task.FromResult(slow.InFlight.Count >= 8 && figures.Count("reserve.before_stop.ok") >= 20),
                "calls in flight", TimeSpan.FromSeconds(60), PollInterval);
            slow.Stopping = true;
            var inFlightAtStop = slow.InFlight;
            figures.Set("in_flight_at_stop", inFlightAtStop.Count);
            await inventory.App.StopAsync(Ct);
            await load;
            var watchEnds = await Task.WhenAll(watches.Select(async watch =>
            {
                try
                {
                    while (await watch.ResponseStream.MoveNext(Ct))
                    {
                    }

                    return null;
                }
                catch (RpcException ex)
                {
                    return ex;
                }
            }));
            foreach (var end in watchEnds)
            {
                figures.Outcome("watch_stock.end", end?.StatusCode ?? StatusCode.OK);
            }

            // A stopping Inventory ends each watch with its UNAVAILABLE "watch again", never OK (a stream that looks finished).
            // The client may raise CANCELLED itself when the connection closes before the trailers (transport error attached).
            Assert.All(watchEnds, end => AssertServerUnavailableOrClientRaised(end, "watch again", StatusCode.Cancelled));

            // Every call the server started - in flight at the stop or entered during it - finished OK; a call that failed
            // was never started (refused by the stopping server: UNAVAILABLE, safe to send elsewhere).
            var entered = slow.Entered;
            var notOk = outcomes.Where(o => o.Value is not null).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
            Assert.Subset(entered.ToHashSet(StringComparer.Ordinal), inFlightAtStop.ToHashSet(StringComparer.Ordinal));
            var startedNotOk = entered.Where(id => !outcomes.TryGetValue(id, out var failure) || failure is not null).Order(StringComparer.Ordinal).ToList();
            Assert.True(startedNotOk.Count == 0,
                $"Started by the server, not OK: {string.Join(", ", startedNotOk.Select(id => $"{id} {outcomes.GetValueOrDefault(id)?.Status}"))}.");
            Assert.Empty(notOk.Intersect(entered));
            Assert.All(notOk, id => Assert.Equal(StatusCode.Unavailable, outcomes[id]!.StatusCode));
            Assert.Equal("none", figures.FailuresOf("reserve.before_stop"));
            Assert.True(inFlightAtStop.Count >= 8, $"Only {inFlightAtStop.Count} calls were in flight at the stop.");
            await inventory.DisposeAsync();
            stopped = true;

            // After a restart on the same database: exactly the acknowledged reservations, each once.
            await using var after = await StartInventoryAsync(db.Settings("Inventory"));
            var confirmed = outcomes.Where(o => o.Value is null).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
            var reserved = await ActiveReservationsAsync(after);
            figures.Set("reservations_confirmed", confirmed.Count);
            figures.Set("reservations_after_restart", reserved.Count);
            Assert.Equal(confirmed, reserved);
            var item = (await after.InventoryClient().GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct)).Item;
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

    /// <summary>
    /// A status the server sent must be its UNAVAILABLE with <paramref name="reason"/>. When the connection closes before
    /// the trailers, the client raises a status itself, with the transport error attached: UNAVAILABLE or
    /// <paramref name="clientRaised"/> are accepted then, never from the server.
    /// </summary>
    private static void AssertServerUnavailableOrClientRaised(RpcException? end, string reason, StatusCode clientRaised)
    {
        Assert.NotNull(end);
        if (end.Status.DebugException is not null)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"Client-raised {end.StatusCode}: {end.Status.DebugException.Message}");
            Assert.Contains(end.StatusCode, new[] { StatusCode.Unavailable, clientRaised });
            return;
        }

        Assert.Equal(StatusCode.Unavailable, end.StatusCode);
        Assert.Contains(reason, end.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task<List<string>> ActiveReservationsAsync(RunningService inventory)
    {
        await using var scope = inventory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<InventoryDbContext>();
        var ids = await db.Reservations.AsNoTracking().Where(r => r.State == ReservationState.Active).Select(r => r.ReservationId).ToListAsync(Ct);
        return [.. ids.Order(StringComparer.Ordinal)];
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
        var written = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var stopped = false;

        try
        {
            var streams = Enumerable.Range(0, Devices).Select(device => Task.Run(async () =>
            {
                using var call = client.StreamIngest(cancellationToken: Ct);
                var writer = Task.Run(async () =>
                {
                    try
                    {
                        for (var batch = 0; ; batch++)
                        {
                            var request = Batch(device, batch);
                            written[request.BatchId] = true;
                            await call.RequestStream.WriteAsync(request, Ct);
                        }
                    }
                    catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or OperationCanceledException)
                    {
                        // The stream ended under the writer; the reader reports its status.
                    }
                }, Ct);
                try
                {
                    var expected = 0;
                    await foreach (var ack in call.ResponseStream.ReadAllAsync(Ct))
                    {
                        // One batch at a time, in order: the acks name this device's batches 0, 1, 2...
                        Assert.Equal(($"stop-{device}-{expected++}", PointsPerBatch, false), (ack.BatchId, ack.AcceptedPoints, ack.Duplicate));
                        acked[ack.BatchId] = ack.AcceptedPoints;
                    }

                    return null;
                }
                catch (RpcException ex)
                {
                    figures.Reason(ex);
                    return ex;
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
                figures.Outcome("stream_ingest.end", end?.StatusCode ?? StatusCode.OK);
            }

            await telemetry.DisposeAsync();
            stopped = true;
            await using var after = await StartTelemetryAsync(db.Settings("Telemetry"));
            var stored = new List<string>();
            var points = 0;
            for (var device = 0; device < Devices; device++)
            {
                using var query = new TelemetryIngestService.TelemetryIngestServiceClient(after.Channel).Query(
                    new QueryRequest { DeviceId = $"stop-{device}", StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddDays(1)) },
                    cancellationToken: Ct);
                await foreach (var chunk in query.ResponseStream.ReadAllAsync(Ct))
                {
                    // A batch's points carry its number as whole seconds after T0 (see Batch).
                    stored.AddRange(chunk.Points.Select(p => $"stop-{device}-{(long)(p.Timestamp.ToDateTime() - T0).TotalSeconds}"));
                    points += chunk.Points.Count;
                }
            }

            var storedBatches = stored.GroupBy(id => id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var committedNotAcked = storedBatches.Keys.Where(id => !acked.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
            figures.Set("batches_acknowledged", acked.Count);
            figures.Set("points_acknowledged", acked.Values.Sum());
            figures.Set("points_stored", points);
            figures.Set("batches_committed_not_acknowledged", committedNotAcked.Count);

            // Every stream ends with the service's UNAVAILABLE "resend" (at least one does); the client may raise INTERNAL or
            // UNAVAILABLE itself when the connection closes before the trailers - see docs/reliability.md, open issues.
            Assert.All(ends, end => AssertServerUnavailableOrClientRaised(end, "resend unacknowledged batches", StatusCode.Internal));
            Assert.Contains(ends, end => end?.Status.DebugException is null);
            // Every acknowledged batch is stored whole, once.
            Assert.Empty(acked.Keys.Where(id => storedBatches.GetValueOrDefault(id) != PointsPerBatch).Order(StringComparer.Ordinal));
            // Beyond those, only batches the device sent whose ack the cut stream never delivered, whole, at most one a device.
            Assert.All(committedNotAcked, id =>
                Assert.True(written.ContainsKey(id) && storedBatches[id] == PointsPerBatch, $"Stored but not sent whole: {id}."));
            Assert.Equal(committedNotAcked.Count, committedNotAcked.Select(id => id[..id.LastIndexOf('-')]).Distinct(StringComparer.Ordinal).Count());
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

    private const int Devices = 4;
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
    /// <summary>
    /// ReserveStock takes 200 ms in the server, so calls are reliably in flight when the stop comes; records which
    /// reservations the server started and which are in its handler now.
    /// </summary>
    private sealed class SlowReservations : Interceptor
    {
        private readonly ConcurrentDictionary<string, bool> _entered = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _inFlight = new(StringComparer.Ordinal);
        private volatile bool _stopping;

        public IReadOnlyCollection<string> Entered => [.. _entered.Keys];

        public IReadOnlyCollection<string> InFlight => [.. _inFlight.Keys];

        public bool Stopping
        {
            get => _stopping;
            set => _stopping = value;
        }

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            if (request is not ReserveStockRequest reserve)
            {
                return await continuation(request, context);
            }

            _entered[reserve.ReservationId] = true;
            _inFlight[reserve.ReservationId] = true;
            try
            {
                await Task.Delay(200, context.CancellationToken);
                return await continuation(request, context);
            }
            finally
            {
                _inFlight.TryRemove(reserve.ReservationId, out _);
            }
        }
    }
}
