using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client.Configuration;

using Microsoft.Extensions.DependencyInjection;

using static Contoso.Retail.ServiceDefaults.Tests.Resilience.RetryHarness;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>
/// The retry interceptor of AddServiceGrpcClient, against a real server on loopback that fails as scripted.
/// Server-side call counts are what prove a retry happened or did not.
/// </summary>
public class RetryClientInterceptorTests
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("GetItem", 1)]
    [InlineData("GetItem", 3)]
    [InlineData("ReserveStock", 1)]
    [InlineData("ReserveStock", 3)]
    public async Task Idempotent_call_failing_unavailable_n_times_then_ok_succeeds_with_n_plus_1_server_calls(string method, int failures)
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(StatusCode.Unavailable, times: failures);

        await CallAsync(harness.Inventory, method);

        Assert.Equal(failures + 1, harness.Script.Calls.Count);
        Assert.All(harness.Script.Calls, c => Assert.Equal($"/inventory.v1.InventoryService/{method}", c.Method));
    }

    [Fact]
    public async Task Idempotent_call_still_unavailable_after_max_attempts_fails_with_the_last_status_after_exactly_max_attempts()
    {
        await using var harness = await StartAsync(new Dictionary<string, string?> { ["GrpcClients:Retry:MaxAttempts"] = "3" });
        harness.Script.ThenAlwaysFail(StatusCode.Unavailable);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => CallAsync(harness.Inventory, "GetItem"));

        Assert.Equal(3, harness.Script.Calls.Count);
        Assert.Equal("scripted Unavailable on call 3", ex.Status.Detail);
    }

    [Fact]
    public async Task Method_the_contract_does_not_mark_idempotent_is_called_once()
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(StatusCode.Unavailable);

        await RpcAssert.ThrowsAsync(StatusCode.Unavailable,
            () => harness.Unmarked.TouchAsync(new GetItemRequest { Sku = "A" }, new CallOptions(cancellationToken: Ct)).ResponseAsync);

        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Streaming_call_is_not_retried()
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(StatusCode.Unavailable);

        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, async () =>
        {
            using var watch = harness.Inventory.WatchStock(new WatchStockRequest(), cancellationToken: Ct);
            await watch.ResponseStream.MoveNext(Ct);
        });

        Assert.Single(harness.Script.Calls);
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.PermissionDenied)]
    public async Task Failure_that_is_not_unavailable_is_not_retried_and_reaches_the_caller_unchanged(StatusCode code)
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(code);

        var ex = await RpcAssert.ThrowsAsync(code, () => CallAsync(harness.Inventory, "ReserveStock"));

        Assert.Single(harness.Script.Calls);
        Assert.Equal($"scripted {code} on call 1", ex.Status.Detail);
    }

    [Fact]
    public async Task Resource_exhausted_with_pushback_is_retried_no_sooner_than_the_server_asked()
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(StatusCode.ResourceExhausted, pushback: "200");

        await CallAsync(harness.Inventory, "GetItem");

        Assert.Equal(2, harness.Script.Calls.Count);
        var waited = harness.Script.Calls[1].ArrivedAt - harness.Script.Calls[0].ArrivedAt;
        Assert.True(waited >= TimeSpan.FromMilliseconds(200), $"Retried after {waited.TotalMilliseconds} ms; the server asked for 200 ms.");
    }

    [Fact]
    public async Task Resource_exhausted_without_pushback_is_not_retried()
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(StatusCode.ResourceExhausted);

        await RpcAssert.ThrowsAsync(StatusCode.ResourceExhausted, () => CallAsync(harness.Inventory, "GetItem"));

        Assert.Single(harness.Script.Calls);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, "-1")]
    [InlineData(StatusCode.Unavailable, "soon")]
    [InlineData(StatusCode.ResourceExhausted, "-200")]
    public async Task Negative_or_unreadable_pushback_means_do_not_retry(StatusCode code, string pushback)
    {
        await using var harness = await StartAsync();
        harness.Script.Fail(code, pushback: pushback);

        await RpcAssert.ThrowsAsync(code, () => CallAsync(harness.Inventory, "GetItem"));

        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Retry_whose_wait_would_end_after_the_deadline_is_not_made_and_the_call_fails_with_the_last_status()
    {
        // Every backoff is at least 5 s, the deadline 2 s away: waiting would only end in DEADLINE_EXCEEDED.
        await using var harness = await StartAsync(new Dictionary<string, string?>
        {
            ["GrpcClients:Retry:BaseDelay"] = "00:00:10",
            ["GrpcClients:Retry:MaxDelay"] = "00:00:10",
        });
        await CallAsync(harness.Inventory, "GetItem");
        harness.Script.ThenAlwaysFail(StatusCode.Unavailable);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => harness.Inventory.GetItemAsync(
            new GetItemRequest { Sku = "A" }, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: Ct).ResponseAsync);

        Assert.Equal("scripted Unavailable on call 2", ex.Status.Detail);
        Assert.Equal(2, harness.Script.Calls.Count);
    }

    [Fact]
    public async Task Retries_stop_at_the_deadline_and_every_attempt_carries_the_callers_deadline()
    {
        await using var harness = await StartAsync(new Dictionary<string, string?>
        {
            ["GrpcClients:Retry:MaxAttempts"] = "1000",
            ["GrpcClients:Retry:BaseDelay"] = "00:00:00.050",
            ["GrpcClients:Retry:MaxDelay"] = "00:00:00.100",
        });
        // A first call warms the connection, so the deadline below is spent on attempts, not on connecting.
        await CallAsync(harness.Inventory, "GetItem");
        harness.Script.ThenAlwaysFail(StatusCode.Unavailable);
        var deadline = DateTime.UtcNow.AddSeconds(3);

        var ex = await Assert.ThrowsAsync<RpcException>(() => harness.Inventory.GetItemAsync(
            new GetItemRequest { Sku = "A" }, deadline: deadline, cancellationToken: Ct).ResponseAsync);

        Assert.Contains(ex.StatusCode, new[] { StatusCode.Unavailable, StatusCode.DeadlineExceeded });
        var attempts = harness.Script.Calls.Skip(1).ToList();
        Assert.InRange(attempts.Count, 2, 999);
        Assert.All(attempts, a => Assert.Equal(deadline, a.Deadline, TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Retry_whose_wait_ends_past_the_deadline_is_not_sent_and_the_call_fails_with_deadline_exceeded(bool blocking)
    {
        // The wait is 10-40 ms, the deadline 30 s away; but by the interceptor's clock every wait ends an hour late,
        // as a timer can fire late on a busy machine. Sent anyway, the attempt would reach the server with no deadline.
        var clock = new LateTimersClock(TimeSpan.FromHours(1));
        await using var harness = await StartAsync(configureClients: client => client.Services.AddSingleton<TimeProvider>(clock));
        harness.Script.ThenAlwaysFail(StatusCode.Unavailable);
        var deadline = DateTime.UtcNow.AddSeconds(30);

        var ex = await RpcAssert.ThrowsAsync(StatusCode.DeadlineExceeded, () => blocking
            ? Task.Run(() => harness.Inventory.GetItem(new GetItemRequest { Sku = "A" }, deadline: deadline, cancellationToken: Ct), Ct)
            : harness.Inventory.GetItemAsync(new GetItemRequest { Sku = "A" }, deadline: deadline, cancellationToken: Ct).ResponseAsync);

        Assert.StartsWith("The call's deadline passed before an attempt could be sent", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Caller_cancelling_during_an_attempt_gets_cancelled_and_nothing_is_retried()
    {
        await using var harness = await StartAsync();
        harness.Script.HoldUntilCancelled();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var call = harness.Inventory.GetItemAsync(new GetItemRequest { Sku = "A" }, cancellationToken: cancellation.Token);
        await harness.Script.Held.Task.WaitAsync(SignalTimeout, Ct);
        await cancellation.CancelAsync();

        await RpcAssert.ThrowsAsync(StatusCode.Cancelled, () => call.ResponseAsync);
        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Caller_cancelling_while_a_retry_waits_gets_cancelled_not_an_operation_cancelled_exception()
    {
        await using var harness = await StartAsync(new Dictionary<string, string?>
        {
            ["GrpcClients:DefaultDeadline"] = "01:00:00",
            ["GrpcClients:Retry:BaseDelay"] = "00:10:00",
            ["GrpcClients:Retry:MaxDelay"] = "00:10:00",
        });
        harness.Script.Fail(StatusCode.Unavailable);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var call = harness.Inventory.GetItemAsync(new GetItemRequest { Sku = "A" }, cancellationToken: cancellation.Token);
        await harness.Log.RetryScheduled.Task.WaitAsync(SignalTimeout, Ct);
        await cancellation.CancelAsync();

        await RpcAssert.ThrowsAsync(StatusCode.Cancelled, () => call.ResponseAsync);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Circuit_opens_after_repeated_unavailable_and_then_fails_fast_without_reaching_the_server()
    {
        await using var harness = await StartAsync(new Dictionary<string, string?>
        {
            ["GrpcClients:CircuitBreaker:MinimumThroughput"] = "2",
            ["GrpcClients:CircuitBreaker:FailureRatio"] = "1",
            ["GrpcClients:CircuitBreaker:BreakDuration"] = "00:10:00",
        });
        harness.Script.ThenAlwaysFail(StatusCode.Unavailable);

        // Two UNAVAILABLE attempts open the circuit; the call's third attempt already fails fast.
        var first = await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => CallAsync(harness.Inventory, "GetItem"));
        var second = await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => CallAsync(harness.Inventory, "ReserveStock"));
        var unmarked = await RpcAssert.ThrowsAsync(StatusCode.Unavailable,
            () => harness.Unmarked.TouchAsync(new GetItemRequest { Sku = "A" }, new CallOptions(cancellationToken: Ct)).ResponseAsync);

        Assert.Equal(2, harness.Script.Calls.Count);
        Assert.All([first, second, unmarked], ex => Assert.Contains("circuit open", ex.Status.Detail, StringComparison.Ordinal));
        Assert.All([first, second, unmarked], ex => Assert.StartsWith("Inventory is failing", ex.Status.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Channel_retry_policy_configured_on_the_client_never_stacks_on_the_interceptor()
    {
        // Someone turns on grpc-dotnet's own retries for every method; AddServiceGrpcClient must switch them off.
        await using var harness = await StartAsync(configureClients: client => client.ConfigureChannel(o => o.ServiceConfig = new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    RetryPolicy = new RetryPolicy
                    {
                        MaxAttempts = 5,
                        InitialBackoff = TimeSpan.FromMilliseconds(10),
                        MaxBackoff = TimeSpan.FromMilliseconds(10),
                        BackoffMultiplier = 1,
                        RetryableStatusCodes = { StatusCode.Unavailable },
                    },
                },
            },
        }));
        harness.Script.Fail(StatusCode.Unavailable, times: 2);

        // Stacked, the channel would retry this unmarked method and succeed on the third call.
        await RpcAssert.ThrowsAsync(StatusCode.Unavailable,
            () => harness.Unmarked.TouchAsync(new GetItemRequest { Sku = "A" }, new CallOptions(cancellationToken: Ct)).ResponseAsync);

        Assert.Single(harness.Script.Calls);
    }

    [Fact]
    public async Task Server_to_server_call_without_a_deadline_reaches_the_server_with_the_default_one_and_a_per_downstream_override_wins()
    {
        await using var harness = await StartAsync(new Dictionary<string, string?>
        {
            ["GrpcClients:DefaultDeadline"] = "00:10:00",
            ["GrpcClients:Inventory:DefaultDeadline"] = "00:20:00",
        });
        var before = DateTime.UtcNow;

        await CallAsync(harness.Inventory, "GetItem");

        var seen = Assert.Single(harness.Script.Calls).Deadline;
        Assert.InRange(seen, before.AddMinutes(20).AddSeconds(-5), DateTime.UtcNow.AddMinutes(20).AddSeconds(5));
    }

    [Fact]
    public async Task Invalid_settings_stop_the_host_from_starting()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new Dictionary<string, string?> { ["GrpcClients:Retry:MaxAttempts"] = "0" }));

        Assert.Contains("MaxAttempts", ex.Message, StringComparison.Ordinal);
    }

    private static async Task CallAsync(InventoryService.InventoryServiceClient inventory, string method)
    {
        switch (method)
        {
            case "GetItem":
                await inventory.GetItemAsync(new GetItemRequest { Sku = "A" }, cancellationToken: Ct);
                break;
            case "ReserveStock":
                await inventory.ReserveStockAsync(
                    new ReserveStockRequest { ReservationId = "r-1", Lines = { new ReservationLine { Sku = "A", Quantity = 1 } } },
                    cancellationToken: Ct);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, null);
        }
    }

    /// <summary>System time, except that each timer created moves the clock on by <paramref name="lateness"/>.</summary>
    private sealed class LateTimersClock(TimeSpan lateness) : TimeProvider
    {
        private long _offsetTicks;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Add(ref _offsetTicks, lateness.Ticks);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
