using System.Collections.Concurrent;
using System.Globalization;

using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

using StoredStatus = Contoso.Retail.Orders.Model.OrderStatus;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// Orders reaches Inventory through a <see cref="FaultProxy"/> that resets connections, delays, drops replies
/// mid-stream and blackholes on a schedule, under a bounded concurrent PlaceOrder load.
/// </summary>
public sealed class FlakyNetworkTests
{
    /// <summary>The least number of orders placed; the load goes on until the schedule has run in full.</summary>
    private const int MinimumOrders = 300;
    private const int Concurrency = 12;
    private const int WarmUpOrders = 60;
    private const int SchedulePasses = 2;
    private static readonly TimeSpan CallerDeadline = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, int> Stock = new()
    {
        ["REL-001"] = 100_000,
        ["REL-002"] = 100_000,
        ["REL-003"] = 100_000,
        ["REL-004"] = 100_000,
    };

    /// <summary>Faults the interceptor's retries (and deadlines) are meant to absorb, in a loop of about 3 s.</summary>
    private static readonly FaultStep[] AbsorbableFaults =
    [
        FaultStep.For(Fault.None, 400),
        FaultStep.ResetThen(Fault.None, 300),
        FaultStep.For(Fault.Delay, 400),
        FaultStep.For(Fault.DropReplies, 40),
        FaultStep.For(Fault.None, 400),
        FaultStep.For(Fault.Blackhole, 300),
        FaultStep.For(Fault.None, 300),
        FaultStep.ResetThen(Fault.Delay, 300),
        FaultStep.For(Fault.DropReplies, 40),
    ];

    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_through_a_flaky_link_takes_stock_exactly_once_per_order_and_succeeds_first_time_at_least_99_percent(DatabaseProvider provider)
    {
        var figures = FiguresOf($"flaky-network-{provider.ToString().ToLowerInvariant()}");
        await using var inventoryDb = await TestDatabase.CreateAsync(provider);
        await using var ordersDb = await TestDatabase.CreateAsync(provider);
        await using var inventory = await StartInventoryAsync(inventoryDb.Settings("Inventory"));
        await using var proxy = FaultProxy.Start(inventory.Address);
        var ordersSettings = ordersDb.Settings("Orders");
        ordersSettings["Serilog:MinimumLevel:Default"] = Environment.GetEnvironmentVariable("RELIABILITY_LOG") ?? "Error";
        await using var orders = await StartOrdersAsync(ordersSettings, proxy.Address.ToString());
        await inventory.StockAsync(Stock);
        var client = orders.OrdersClient();
        var acknowledged = new ConcurrentDictionary<string, Order>(StringComparer.Ordinal);

        try
        {
            // Faults start once the link is in steady state (connections warm, the breaker's window full of successes),
            // and the load lasts until every step of the schedule has been applied: a fixed order count alone can finish
            // before the schedule reaches its blackhole on a fast run.
            var schedule = Task.Run(async () =>
            {
                await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count >= WarmUpOrders), "warm-up orders", TimeSpan.FromMinutes(1), PollInterval);
                await proxy.RunScheduleAsync(AbsorbableFaults, SchedulePasses, Ct);
            }, Ct);
            using var enough = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var placed = 0;
            await Load.RunUntilAsync(Concurrency, async (_, _) =>
            {
                var request = RandomOrder(Interlocked.Increment(ref placed) - 1);
                await PlaceAsync(request, Ct);
                if (Volatile.Read(ref placed) >= MinimumOrders && schedule.IsCompleted)
                {
                    await enough.CancelAsync();
                }
            }, enough.Token);
            await schedule;

            async Task PlaceAsync(PlaceOrderRequest request, CancellationToken ct)
            {
                // A client whose call fails resends the same request_id: the contract's way to finish a pending order.
                for (var attempt = 1; attempt <= 5; attempt++)
                {
                    var kind = attempt == 1 ? "place_order.first_attempt" : "place_order.resend";
                    try
                    {
                        var reply = await client.PlaceOrderAsync(request, deadline: DateTime.UtcNow + CallerDeadline, cancellationToken: ct);
                        figures.Outcome(kind, StatusCode.OK);
                        acknowledged[request.RequestId] = reply.Order;
                        return;
                    }
                    catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted)
                    {
                        figures.Outcome(kind, ex.StatusCode);
                        figures.Reason(ex);
                        await Task.Delay(200, ct);
                    }
                }
            }

            var orderCount = Volatile.Read(ref placed);

            var ledger = await Ledger.ReadAsync(orders, inventory, Stock);
            var stored = await Ledger.StatusesAsync(orders);
            ledger.Record(figures);
            figures.Set("proxy", proxy.Counters);
            figures.Set("orders", orderCount);
            figures.Set("concurrency", Concurrency);
            var firstTime = figures.Count("place_order.first_attempt.ok");
            figures.Set("first_attempt_success_percent", Math.Round(100.0 * firstTime / orderCount, 2));
            figures.Set("acknowledged_not_confirmed", acknowledged.Keys.Count(id => stored.GetValueOrDefault(id) != StoredStatus.Confirmed));

            Assert.True(proxy.Counters.Resets > 0 && proxy.Counters.DroppedReplies > 0 && proxy.Counters.HeldChunks > 0,
                $"The schedule must actually have injected faults: {proxy.Counters}");
            Assert.True(firstTime >= orderCount * 0.99,
                $"Only {firstTime} of {orderCount} orders succeeded first time; failures: {figures.FailuresOf("place_order.first_attempt")}.");
            Assert.Equal(orderCount, acknowledged.Count);
            Assert.All(acknowledged.Values, order => Assert.Equal(OrderStatus.Confirmed, order.Status));
            Assert.All(acknowledged.Keys, id => Assert.Equal(StoredStatus.Confirmed, stored[id]));
            Assert.Equal((orderCount, orderCount, 0), (ledger.Orders, ledger.ActiveReservations, ledger.Pending));
            ledger.AssertConsistent();
        }
        finally
        {
            figures.Publish();
        }
    }

    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Inventory_down_for_good_fails_callers_promptly_and_the_reconciler_resolves_every_pending_order(DatabaseProvider provider)
    {
        var figures = FiguresOf($"inventory-down-{provider.ToString().ToLowerInvariant()}");
        await using var inventoryDb = await TestDatabase.CreateAsync(provider);
        await using var ordersDb = await TestDatabase.CreateAsync(provider);
        await using var inventory = await StartInventoryAsync(inventoryDb.Settings("Inventory"));
        await using var proxy = FaultProxy.Start(inventory.Address);
        var ordersSettings = ordersDb.Settings("Orders");
        ordersSettings["GrpcClients:Retry:BaseDelay"] = "00:00:00.050";
        ordersSettings["GrpcClients:DefaultDeadline"] = "00:00:01";
        ordersSettings["GrpcClients:CircuitBreaker:BreakDuration"] = "00:00:01";
        ordersSettings["Orders:ReconcileInterval"] = "00:00:00.250";
        // Longer than the lost-replies phase (one 3 s deadline): an order expired inside it has its release forwarded to
        // Inventory (only replies are lost), which gives the stock back before the check below that some is still held.
        ordersSettings["Orders:PendingOrderTimeout"] = "00:00:05";
        await using var orders = await StartOrdersAsync(ordersSettings, proxy.Address.ToString());
        await inventory.StockAsync(Stock);
        var client = orders.OrdersClient();
        var deadline = TimeSpan.FromSeconds(3);

        try
        {
            await Load.RunAsync(5, 5, async (i, ct) => await client.PlaceOrderAsync(RandomOrder(1000 + i), cancellationToken: ct));

            // Inventory takes the stock but the answers never come back; then it is unreachable, then it swallows everything.
            var outageStarted = DateTime.UtcNow;
            var worst = TimeSpan.Zero;
            var timerLag = TimeSpan.Zero;
            var next = 2000;
            foreach (var (fault, name) in new[] { (Fault.DropReplies, "replies_lost"), (Fault.Blackhole, "blackhole"), (Fault.Refuse, "refused") })
            {
                proxy.Fault = fault;
                // A bare timer for the same span, started with the calls: how late this loaded machine runs anything at
                // a deadline, which a caller's wait cannot beat whatever the service does.
                var control = Load.TimedAsync(() => Task.Delay(deadline, Ct));
                var results = await Task.WhenAll(Enumerable.Range(next, 8).Select(i => Load.TimedAsync(() =>
                    client.PlaceOrderAsync(RandomOrder(i), deadline: DateTime.UtcNow + deadline, cancellationToken: Ct).ResponseAsync)));
                var lag = (await control).Elapsed - deadline;
                timerLag = lag > timerLag ? lag : timerLag;
                next += 8;
                foreach (var (status, elapsed) in results)
                {
                    figures.Outcome($"place_order.{name}", status);
                    worst = elapsed > worst ? elapsed : worst;
                }

                figures.Duration($"slowest_failure.{name}", results.Max(r => r.Elapsed));
                Assert.All(results, r => Assert.Contains(r.Status, new[] { StatusCode.Unavailable, StatusCode.DeadlineExceeded }));
            }

            // Promptly: no caller waited much past its own deadline, whatever the outage looked like (beyond the lateness
            // of a bare timer measured alongside).
            figures.Duration("timer_lag", timerLag);
            Assert.True(worst < deadline + timerLag + TimeSpan.FromSeconds(2), $"A caller waited {worst} with a {deadline} deadline; a bare timer ran {timerLag} late.");

            // Still down: the reconciler rejects every pending order; the stock some of them hold is owed back.
            var resolved = await Eventually.HoldsAsync(
                async () => (await Ledger.ReadAsync(orders, inventory, Stock)).Pending == 0, "no PENDING order left while Inventory is down", TimeSpan.FromSeconds(30), PollInterval);
            var whileDown = await Ledger.ReadAsync(orders, inventory, Stock);
            figures.Duration("pending_resolved_after_outage_start", DateTime.UtcNow - outageStarted);
            figures.Set("ledger_while_down", whileDown);
            Assert.Equal((5, 24, 0), (whileDown.Confirmed, whileDown.Rejected, whileDown.Pending));
            Assert.Equal(24, whileDown.ReleaseOwed);
            Assert.True(whileDown.ActiveReservations > 5, "The lost replies should have left stock held in Inventory for pending orders.");

            // Inventory returns: the reconciler gives every held unit back, and nothing else.
            proxy.Fault = Fault.None;
            var compensated = await Eventually.HoldsAsync(
                async () => (await Ledger.ReadAsync(orders, inventory, Stock)).ReleaseOwed == 0, "every owed release to reach Inventory", TimeSpan.FromSeconds(30), PollInterval);
            figures.Duration("compensated_after_restore", compensated);
            figures.Duration("resolve_wait", resolved);
            var after = await Ledger.ReadAsync(orders, inventory, Stock);
            after.Record(figures);
            Assert.Equal((5, 24, 0, 0, 5), (after.Confirmed, after.Rejected, after.Pending, after.ReleaseOwed, after.ActiveReservations));
            after.AssertConsistent();
        }
        finally
        {
            figures.Set("proxy", proxy.Counters);
            figures.Publish();
        }
    }

    /// <summary>The same order for the same index every run: one or two lines of 1-3 units.</summary>
    internal static PlaceOrderRequest RandomOrder(int index)
    {
        var random = new Random(index);
        var request = new PlaceOrderRequest
        {
            RequestId = $"req-{index.ToString(CultureInfo.InvariantCulture)}",
            CustomerId = $"cust-{(index % 17).ToString(CultureInfo.InvariantCulture)}",
        };
        foreach (var sku in Stock.Keys.OrderBy(_ => random.Next()).Take(random.Next(1, 3)))
        {
            request.Lines.Add(new OrderLine { Sku = sku, Quantity = random.Next(1, 4) });
        }

        return request;
    }
}
