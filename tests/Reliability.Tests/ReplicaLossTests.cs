using System.Collections.Concurrent;

using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// Two Inventory instances on one database behind Orders' client-side round-robin (a static:/// list); one of them
/// dies mid-load (its connections reset, its port refuses): calls move to the survivor with bounded errors.
/// </summary>
public sealed class ReplicaLossTests
{
    private const int Orders = 240;
    private const int KillAfter = 80;

    private static readonly Dictionary<string, int> Stock = new()
    {
        ["REL-001"] = 100_000,
        ["REL-002"] = 100_000,
        ["REL-003"] = 100_000,
        ["REL-004"] = 100_000,
    };

    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Losing_one_of_two_Inventory_replicas_under_load_moves_calls_to_the_other_with_bounded_errors(DatabaseProvider provider)
    {
        var figures = FiguresOf($"replica-loss-{provider.ToString().ToLowerInvariant()}");
        await using var inventoryDb = await TestDatabase.CreateAsync(provider);
        await using var ordersDb = await TestDatabase.CreateAsync(provider);
        var counterA = new CallCounter();
        var counterB = new CallCounter();
        await using var a = await StartInventoryAsync(inventoryDb.Settings("Inventory"), counterA);
        await using var b = await StartInventoryAsync(inventoryDb.Settings("Inventory"), counterB);
        await using var linkA = FaultProxy.Start(a.Address);
        await using var linkB = FaultProxy.Start(b.Address);
        await using var orders = await StartOrdersAsync(ordersDb.Settings("Orders"), $"static:///127.0.0.1:{linkA.Port},127.0.0.1:{linkB.Port}");
        await a.StockAsync(Stock);
        var client = orders.OrdersClient();
        var acknowledged = new ConcurrentDictionary<string, Order>(StringComparer.Ordinal);
        var bAtKill = -1;

        try
        {
            var kill = Task.Run(async () =>
            {
                // Kill B only once it has served calls: on a loaded machine its connection can come up after the first
                // KillAfter orders, and a kill before that would test nothing (the load is 240 orders, round robin).
                await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count >= KillAfter && counterB["ReserveStock"] > 10),
                    "orders before the kill, some of them through B", TimeSpan.FromMinutes(1), PollInterval);
                bAtKill = counterB["ReserveStock"];
                figures.Set("reserve_stock_before_kill", new { A = counterA["ReserveStock"], B = bAtKill });
                linkB.Fault = Fault.Refuse;
            }, Ct);
            await Load.RunAsync(Orders, 8, async (i, ct) =>
            {
                var request = FlakyNetworkTests.RandomOrder(i);
                for (var attempt = 1; attempt <= 3; attempt++)
                {
                    var kind = attempt == 1 ? "place_order.first_attempt" : "place_order.resend";
                    try
                    {
                        acknowledged[request.RequestId] = (await client.PlaceOrderAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct)).Order;
                        figures.Outcome(kind, StatusCode.OK);
                        return;
                    }
                    catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                    {
                        figures.Outcome(kind, ex.StatusCode);
                        figures.Reason(ex);
                        await Task.Delay(200, ct);
                    }
                }
            });
            await kill;

            var ledger = await Ledger.ReadAsync(orders, a, Stock);
            ledger.Record(figures);
            figures.Set("reserve_stock_after", new { A = counterA["ReserveStock"], B = counterB["ReserveStock"] });
            figures.Set("proxy_b", linkB.Counters);
            var firstTime = figures.Count("place_order.first_attempt.ok");
            figures.Set("first_attempt_success_percent", Math.Round(100.0 * firstTime / Orders, 2));

            Assert.True(bAtKill > 10, $"Both replicas should have had calls before the kill (B had {bAtKill}).");
            Assert.True(counterA["ReserveStock"] > Orders - bAtKill - 1, "The survivor should have taken every call after the kill.");
            // Bounded: a call in flight on B when it died is retried on A; at most a handful fail outright.
            Assert.True(firstTime >= Orders * 0.98, $"Only {firstTime} of {Orders} first attempts succeeded: {figures.FailuresOf("place_order.first_attempt")}.");
            Assert.Equal(Orders, acknowledged.Count);
            Assert.Equal((Orders, Orders, 0), (ledger.Confirmed, ledger.ActiveReservations, ledger.Pending));
            ledger.AssertConsistent();
        }
        finally
        {
            figures.Publish();
        }
    }
}
