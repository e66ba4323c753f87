using System.Diagnostics;
using System.Globalization;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// All three services under a bounded mixed load (orders, reads, telemetry streams and queries) for
/// RELIABILITY_SOAK_SECONDS (60 by default), sampling managed memory and threads: no errors, no growth trend.
/// </summary>
public sealed class SoakTests
{
    //#if (IncludeTelemetry)
    private static readonly DateTime T0 = new(2025, 8, 1, 0, 0, 0, DateTimeKind.Utc);

    //#endif
    [Fact]
    [Trait("Category", "Long")]
    public async Task A_minute_of_mixed_load_has_no_errors_and_no_memory_or_thread_growth()
    {
        var seconds = int.Parse(Environment.GetEnvironmentVariable("RELIABILITY_SOAK_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        var figures = FiguresOf("soak-sqlite");
        await using var inventoryDb = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var ordersDb = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        //#if (IncludeTelemetry)
        await using var telemetryDb = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        //#endif
        await using var inventory = await StartInventoryAsync(inventoryDb.Settings("Inventory"));
        await using var orders = await StartOrdersAsync(ordersDb.Settings("Orders"), inventory.Address.ToString());
        //#if (IncludeTelemetry)
        await using var telemetry = await StartTelemetryAsync(telemetryDb.Settings("Telemetry"));
        //#endif
        await inventory.StockAsync(new Dictionary<string, int> { ["SOAK-1"] = 10_000_000, ["SOAK-2"] = 10_000_000 });
        var ordersClient = orders.OrdersClient();
        var inventoryClient = inventory.InventoryClient();
        //#if (IncludeTelemetry)
        var telemetryClient = new TelemetryIngestService.TelemetryIngestServiceClient(telemetry.Channel);
        //#endif
        var samples = new List<(double Seconds, long ManagedBytes, int Threads)>();
        var next = 0;

        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var clock = Stopwatch.StartNew();
            var sampling = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    samples.Add((clock.Elapsed.TotalSeconds, GC.GetTotalMemory(forceFullCollection: true), Process.GetCurrentProcess().Threads.Count));
                    await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
                }
            }, Ct);
            await Load.RunUntilAsync(6, async (worker, ct) =>
            {
                var i = Interlocked.Increment(ref next);
                var (kind, call) = (i % 4) switch
                {
                    0 => ("place_order", (Func<Task>)(async () =>
                    {
                        var placed = await ordersClient.PlaceOrderAsync(new PlaceOrderRequest
                        {
                            RequestId = $"soak-{i}",
                            CustomerId = $"c-{i % 50}",
                            Lines = { new Contracts.Orders.V1.OrderLine { Sku = i % 8 == 0 ? "SOAK-1" : "SOAK-2", Quantity = 1 } },
                        }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: CancellationToken.None);
                        await ordersClient.GetOrderAsync(new GetOrderRequest { OrderId = placed.Order.OrderId }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: CancellationToken.None);
                    })),
                    //#if (IncludeTelemetry)
                    2 => ("stream_ingest", () => IngestAsync(telemetryClient, worker, i)),
                    3 => ("query", () => QueryAsync(telemetryClient, worker)),
                    //#endif
                    _ => ("get_item", async () => await inventoryClient.GetItemAsync(new GetItemRequest { Sku = "SOAK-1" }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: CancellationToken.None)),
                };
                var (status, _) = await Load.TimedAsync(call);
                figures.Outcome(kind, status);
            }, stop.Token);
            await sampling;

            // Compare the middle third with the last third (the first is warm-up: JIT, pools, caches).
            var third = samples.Count / 3;
            var middle = samples.Skip(third).Take(third).ToList();
            var last = samples.Skip(2 * third).ToList();
            var memoryGrowth = last.Average(s => s.ManagedBytes) / middle.Average(s => s.ManagedBytes);
            var threadGrowth = last.Max(s => s.Threads) - middle.Max(s => s.Threads);
            figures.Set("seconds", seconds);
            figures.Set("samples", samples.Select(s => new { t = Math.Round(s.Seconds), managed_mb = Math.Round(s.ManagedBytes / 1048576.0, 1), threads = s.Threads }));
            figures.Set("managed_memory_last_over_middle", Math.Round(memoryGrowth, 3));
            figures.Set("threads_last_minus_middle", threadGrowth);
            figures.Set("calls_per_second", Math.Round(next / clock.Elapsed.TotalSeconds, 1));

            Assert.True(samples.Count >= 9, $"Too few samples ({samples.Count}) to see a trend.");
            string[] kinds =
            [
                "place_order",
                "get_item",
                //#if (IncludeTelemetry)
                "stream_ingest",
                "query",
                //#endif
            ];
            Assert.Equal("none", string.Join("; ", kinds.Select(figures.FailuresOf).Where(f => f != "none").DefaultIfEmpty("none")));
            // Generous bounds: they catch a leak (a buffer per call, a thread per stream), not GC noise.
            Assert.True(memoryGrowth < 1.5, $"Managed memory grew {memoryGrowth:0.00}x from the middle to the last third.");
            Assert.True(threadGrowth < 25, $"Threads grew by {threadGrowth} from the middle to the last third.");
        }
        finally
        {
            figures.Publish();
        }
    }
    //#if (IncludeTelemetry)

    private static async Task IngestAsync(TelemetryIngestService.TelemetryIngestServiceClient client, int worker, int i)
    {
        using var call = client.StreamIngest(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: CancellationToken.None);
        for (var batch = 0; batch < 3; batch++)
        {
            var request = new StreamIngestRequest { BatchId = $"soak-{i}-{batch}" };
            for (var p = 0; p < 20; p++)
            {
                request.Points.Add(new Point
                {
                    DeviceId = $"soak-{worker}",
                    Metric = "m",
                    Timestamp = Timestamp.FromDateTime(T0.AddMilliseconds((i * 100) + (batch * 20) + p)),
                    Value = p,
                });
            }

            await call.RequestStream.WriteAsync(request, CancellationToken.None);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    private static async Task QueryAsync(TelemetryIngestService.TelemetryIngestServiceClient client, int worker)
    {
        using var call = client.Query(
            new QueryRequest { DeviceId = $"soak-{worker}", StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddDays(30)), Limit = 200 },
            deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: CancellationToken.None);
        await foreach (var _ in call.ResponseStream.ReadAllAsync(CancellationToken.None))
        {
        }
    }
    //#endif
}
