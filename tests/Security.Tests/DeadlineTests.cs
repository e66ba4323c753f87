using System.Diagnostics;
using System.Globalization;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;

using Google.Protobuf;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Zero, negative and tiny deadlines on every method: the answer is DEADLINE_EXCEEDED or the method's normal answer
/// (the call beat its deadline), never INTERNAL or UNKNOWN, nothing is left half-done, and the services keep answering.
/// </summary>
public class DeadlineTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    /// <summary>Relative to the moment the call starts: already past, exactly now, then ever less tiny.</summary>
    private static readonly TimeSpan[] Ladder =
    [
        TimeSpan.FromSeconds(-1), TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2),
        TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20),
        TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1),
    ];

    /// <summary>grpc-timeout values a hand-written client may send: zero and one unit of the smallest kinds, and two malformed ones (ignored: no deadline).</summary>
    private static readonly string[] RawTimeouts = ["0n", "1n", "0m", "1u", "1m", "-1S", "abc"];

    /// <summary>
    /// grpc-dotnet ignores a grpc-timeout that is zero, rounds to zero ticks (1n) or does not parse: the call then has
    /// no deadline at all (observed; a zero timeout does not mean "already expired" to it).
    /// </summary>
    private static readonly string[] TreatedAsNoDeadline = ["0n", "1n", "0m", "-1S", "abc"];

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task Expired_zero_and_tiny_deadlines_get_DEADLINE_EXCEEDED_or_the_normal_answer_never_INTERNAL(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var sample = MethodSamples.ByPath[path];
        var host = System.HostOf(method);
        var raw = RawGrpc.Method(method);
        byte[][] messages = [.. sample.Valid.Select(m => m.ToByteArray())];
        StatusCode[] allowed = [StatusCode.DeadlineExceeded, .. sample.Outcomes];
        var codes = new List<StatusCode>();
        var wrong = new List<string>();
        var slowest = TimeSpan.Zero;

        async Task CallAsync(string label, DateTime deadline, Metadata? headers)
        {
            var clock = Stopwatch.StartNew();
            var (code, detail) = await RawGrpc.CallWithDetailAsync(host.Channel, raw, messages, deadline, headers, Ct);
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
            codes.Add(code);
            SecurityFigures.Tally("deadline.every-method", path, code);
            if (!allowed.Contains(code))
            {
                wrong.Add($"{label}: {code} \"{detail}\"");
            }
        }

        foreach (var offset in Ladder)
        {
            await CallAsync($"deadline {offset.TotalMilliseconds} ms", DateTime.UtcNow + offset, null);
        }

        // A hand-written client (the .NET client never sends an expired deadline): the server alone enforces grpc-timeout.
        using var http = H2c.Client();
        var body = messages.SelectMany(m => H2c.GrpcFrame(m)).ToArray();
        foreach (var timeout in RawTimeouts)
        {
            using var content = new ByteArrayContent(body);
            // Without a deadline a server stream stays open: its first message is the answer. Every other call must end,
            // within the bound any hostile call gets, not a guess at how fast a loaded machine answers.
            var expectOpenStream = method.IsServerStreaming && TreatedAsNoDeadline.Contains(timeout);
            var (status, message, elapsed, hung, streaming) = await H2c.CallAsync(
                http, host.Address, path, host.Token, content, RawGrpc.CallBound, [("grpc-timeout", timeout)], expectOpenStream, Ct);
            slowest = elapsed > slowest ? elapsed : slowest;
            if (streaming && expectOpenStream)
            {
                // What a call without a deadline does: WatchStock streams until the client goes away.
                SecurityFigures.Tally("deadline.every-method", path, $"grpc-timeout {timeout}: still streaming");
                continue;
            }

            var code = hung || streaming ? RawGrpc.Hung : (StatusCode)(status ?? (int)RawGrpc.TransportFailure);
            codes.Add(code);
            SecurityFigures.Tally("deadline.every-method", path, code);
            if (!allowed.Contains(code))
            {
                wrong.Add($"grpc-timeout {timeout}: {code} \"{message}\"");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{path}: {string.Join(", ", SecurityFigures.ByStatus(codes).Select(kv => $"{kv.Key} {kv.Value}"))}; slowest answer {slowest.TotalMilliseconds:0} ms");
        Assert.Empty(wrong);
        Assert.Contains(StatusCode.DeadlineExceeded, codes);
        Assert.True(await System.AllServingAsync());
    }

    [Fact]
    public async Task ReserveStock_with_expired_or_tiny_deadlines_takes_stock_at_most_once_per_reservation()
    {
        const string sku = "DL-RESERVE";
        var inventory = new InventoryService.InventoryServiceClient(System.Inventory.Channel);
        await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "Deadline", Available = 1_000 }, cancellationToken: Ct);
        var before = await System.ItemAsync(sku);
        var outcomes = new List<(TimeSpan Offset, StatusCode Code)>();

        for (var i = 0; i < Ladder.Length * 2; i++)
        {
            var offset = Ladder[i % Ladder.Length];
            var code = await CodeOf(() => inventory.ReserveStockAsync(Reservation(i, sku), deadline: DateTime.UtcNow + offset, cancellationToken: Ct).ResponseAsync);
            outcomes.Add((offset, code));
        }

        var afterHostile = await System.ItemAsync(sku);

        // Every reservation again, in time: idempotent by reservation_id, so each takes stock exactly once overall.
        for (var i = 0; i < outcomes.Count; i++)
        {
            await inventory.ReserveStockAsync(Reservation(i, sku), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: Ct);
        }

        var afterRetry = await System.ItemAsync(sku);
        var ok = outcomes.Count(o => o.Code == StatusCode.OK);
        Record("deadline.reserve-stock", outcomes, new { reservedBefore = before.Reserved, reservedAfterHostile = afterHostile.Reserved, reservedAfterRetry = afterRetry.Reserved });

        Assert.All(outcomes, o => Assert.Contains(o.Code, new[] { StatusCode.OK, StatusCode.DeadlineExceeded }));
        Assert.All(outcomes.Where(o => o.Offset <= TimeSpan.Zero), o => Assert.Equal(StatusCode.DeadlineExceeded, o.Code));
        // Acknowledged ones certainly took stock; expired ones may have committed just before the deadline hit, never twice.
        Assert.InRange(afterHostile.Reserved - before.Reserved, ok, outcomes.Count(o => o.Offset > TimeSpan.Zero));
        Assert.Equal(before.Reserved + outcomes.Count, afterRetry.Reserved);
        Assert.Equal(before.Available - outcomes.Count, afterRetry.Available);
    }

    [Fact]
    public async Task PlaceOrder_with_expired_or_tiny_deadlines_leaves_at_most_one_order_per_request_and_a_retry_confirms_it()
    {
        const string sku = "DL-ORDER";
        const string customer = "cust-deadline";
        var inventory = new InventoryService.InventoryServiceClient(System.Inventory.Channel);
        var orders = new OrderService.OrderServiceClient(System.Orders.Channel);
        await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "Deadline", Available = 1_000 }, cancellationToken: Ct);
        var outcomes = new List<(TimeSpan Offset, StatusCode Code)>();

        for (var i = 0; i < Ladder.Length * 2; i++)
        {
            var offset = Ladder[i % Ladder.Length];
            var code = await CodeOf(() => orders.PlaceOrderAsync(Order(i, customer, sku), deadline: DateTime.UtcNow + offset, cancellationToken: Ct).ResponseAsync);
            outcomes.Add((offset, code));
        }

        var afterHostile = await ListAsync(orders, customer);
        var retried = new List<Contracts.Orders.V1.Order>();
        for (var i = 0; i < outcomes.Count; i++)
        {
            retried.Add((await orders.PlaceOrderAsync(Order(i, customer, sku), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: Ct)).Order);
        }

        var afterRetry = await ListAsync(orders, customer);
        var item = await System.ItemAsync(sku);
        var ok = outcomes.Count(o => o.Code == StatusCode.OK);
        Record("deadline.place-order", outcomes, new
        {
            ordersAfterHostile = afterHostile.Count,
            ordersAfterHostileByStatus = SecurityFigures.ByStatus(afterHostile.Select(o => o.Status)),
            ordersAfterRetry = afterRetry.Count,
            reservedAfterRetry = item.Reserved,
        });

        Assert.All(outcomes, o => Assert.Contains(o.Code, new[] { StatusCode.OK, StatusCode.DeadlineExceeded }));
        Assert.All(outcomes.Where(o => o.Offset <= TimeSpan.Zero), o => Assert.Equal(StatusCode.DeadlineExceeded, o.Code));
        Assert.InRange(afterHostile.Count, ok, outcomes.Count(o => o.Offset > TimeSpan.Zero));
        Assert.Equal(afterHostile.Count, afterHostile.Select(o => o.RequestId).Distinct().Count());
        Assert.Equal(outcomes.Count, afterRetry.Count);
        Assert.Equal(outcomes.Count, afterRetry.Select(o => o.RequestId).Distinct().Count());
        Assert.All(retried, o => Assert.Equal(OrderStatus.Confirmed, o.Status));
        Assert.Equal(outcomes.Count, item.Reserved);
    }

    private static ReserveStockRequest Reservation(int i, string sku) =>
        new() { ReservationId = $"dl-res-{i}", Lines = { new ReservationLine { Sku = sku, Quantity = 1 } } };

    private static PlaceOrderRequest Order(int i, string customer, string sku) =>
        new() { RequestId = $"dl-req-{i}", CustomerId = customer, Lines = { new OrderLine { Sku = sku, Quantity = 1 } } };

    private static async Task<List<Contracts.Orders.V1.Order>> ListAsync(OrderService.OrderServiceClient orders, string customer)
    {
        var all = new List<Contracts.Orders.V1.Order>();
        var token = "";
        do
        {
            var page = await orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = customer, PageSize = 100, PageToken = token }, cancellationToken: Ct);
            all.AddRange(page.Orders);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        return all;
    }

    private static async Task<StatusCode> CodeOf(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private static void Record(string scenario, List<(TimeSpan Offset, StatusCode Code)> outcomes, object state) =>
        SecurityFigures.Record(scenario, new
        {
            calls = outcomes.Count,
            statuses = SecurityFigures.ByStatus(outcomes.Select(o => o.Code)),
            byDeadlineMs = outcomes.GroupBy(o => o.Offset.TotalMilliseconds)
                .ToDictionary(g => g.Key.ToString(CultureInfo.InvariantCulture), g => string.Join("/", g.Select(o => o.Code))),
            state,
        });
}
