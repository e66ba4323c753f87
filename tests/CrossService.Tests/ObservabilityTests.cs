using System.Diagnostics;
using System.Net;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Interceptors;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using OpenTelemetry.Trace;

using Serilog.Core;
using Serilog.Events;

using StatusCode = Grpc.Core.StatusCode;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// Logs, traces and metrics of one PlaceOrder across Orders and Inventory, both on real Kestrel, each with its
/// own log sink and span exporter: what an operator sees when following one call through the system.
/// </summary>
public class ObservabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_logs_of_both_services_carry_the_callers_correlation_id_and_one_trace_id(DatabaseProvider provider)
    {
        await using var system = await ObservedSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 10);
        var correlationId = $"corr-{Guid.NewGuid():N}";
        using var root = ObservedSystem.StartRootActivity();

        using var call = system.Orders.PlaceOrderAsync(
            Request("req-1", ("KB-001", 2)), new Metadata { { CorrelationContext.HeaderName, correlationId } }, cancellationToken: Ct);
        await call.ResponseAsync;

        Assert.Equal(correlationId, (await call.ResponseHeadersAsync).GetValue(CorrelationContext.HeaderName));
        var ordersEvents = system.OrdersLogs.WithProperty("CorrelationId", correlationId);
        var inventoryEvents = system.InventoryLogs.WithProperty("CorrelationId", correlationId);
        Assert.NotEmpty(ordersEvents);
        Assert.NotEmpty(inventoryEvents);
        var traceId = root.TraceId.ToHexString();
        Assert.All(ordersEvents.Concat(inventoryEvents), e => Assert.Equal(traceId, CapturedLogs.ScalarText(e, "TraceId")));
        Assert.Contains(inventoryEvents, e => CapturedLogs.ScalarText(e, "GrpcMethod") == "ReserveStock");
    }

    [Fact]
    public async Task A_call_without_a_correlation_id_gets_a_new_one_echoed_and_logged()
    {
        await using var system = await ObservedSystem.StartAsync(DatabaseProvider.Sqlite);

        using var call = system.Inventory.ListItemsAsync(new ListItemsRequest(), cancellationToken: Ct);
        await call.ResponseAsync;

        var generated = (await call.ResponseHeadersAsync).GetValue(CorrelationContext.HeaderName);
        Assert.True(CorrelationContext.IsValid(generated), $"'{generated}' is not a usable correlation id.");
        var line = Assert.Single(system.InventoryLogs.WithProperty("GrpcMethod", "ListItems"));
        Assert.Equal(generated, CapturedLogs.ScalarText(line, "CorrelationId"));
    }

    [Theory]
    [InlineData("has spaces and \"quotes\"")]
    [InlineData("newline\r\nForged: log line")]
    [InlineData("control.id_42:ok")]
    public async Task An_unsafe_correlation_id_is_replaced_and_never_logged(string supplied)
    {
        // The last id is safe: a control case proving the test would see a supplied id if it were kept.
        var safe = CorrelationContext.IsValid(supplied);
        await using var system = await ObservedSystem.StartAsync(DatabaseProvider.Sqlite);

        using var call = system.Inventory.ListItemsAsync(
            new ListItemsRequest(), new Metadata { { CorrelationContext.HeaderName, Ascii(supplied) } }, cancellationToken: Ct);
        await call.ResponseAsync;

        var echoed = (await call.ResponseHeadersAsync).GetValue(CorrelationContext.HeaderName);
        Assert.Equal(safe, echoed == Ascii(supplied));
        Assert.True(CorrelationContext.IsValid(echoed));
        Assert.Equal(safe, system.InventoryLogs.Events.Any(e => CapturedLogs.FullText(e).Contains(Ascii(supplied), StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_correlation_id_longer_than_128_characters_is_replaced()
    {
        await using var system = await ObservedSystem.StartAsync(DatabaseProvider.Sqlite);
        var tooLong = new string('a', CorrelationContext.MaxLength + 1);

        using var call = system.Inventory.ListItemsAsync(
            new ListItemsRequest(), new Metadata { { CorrelationContext.HeaderName, tooLong } }, cancellationToken: Ct);
        await call.ResponseAsync;

        var echoed = (await call.ResponseHeadersAsync).GetValue(CorrelationContext.HeaderName);
        Assert.NotEqual(tooLong, echoed);
        Assert.True(CorrelationContext.IsValid(echoed));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Each_call_logs_one_line_with_method_status_code_duration_and_peer(DatabaseProvider provider)
    {
        // A first call can take over the default 1 s slow-call threshold on a busy machine (it would log at Warning).
        await using var system = await ObservedSystem.StartAsync(provider, settings => settings["Logging:SlowCallThreshold"] = "00:01:00");
        await system.StockAsync("KB-001", 1);
        var confirmedId = $"ok-{Guid.NewGuid():N}";
        var rejectedId = $"short-{Guid.NewGuid():N}";

        await system.Orders.PlaceOrderAsync(Request("req-ok", ("KB-001", 1)), new Metadata { { CorrelationContext.HeaderName, confirmedId } }, cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<RpcException>(() => system.Orders.PlaceOrderAsync(
            Request("req-short", ("KB-001", 5)), new Metadata { { CorrelationContext.HeaderName, rejectedId } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);

        var ok = Assert.Single(CallLines(system.OrdersLogs, confirmedId));
        Assert.Equal(("orders.v1.OrderService", "PlaceOrder", "OK"),
            (CapturedLogs.ScalarText(ok, "GrpcService"), CapturedLogs.ScalarText(ok, "GrpcMethod"), CapturedLogs.ScalarText(ok, "StatusCode")));
        Assert.Equal(LogEventLevel.Debug, ok.Level);
        Assert.True(ok.Properties["ElapsedMs"] is ScalarValue { Value: double ms } && ms >= 0, "ElapsedMs is missing or not a number.");
        Assert.StartsWith("ipv4:127.0.0.1:", CapturedLogs.ScalarText(ok, "Peer"));

        var refused = Assert.Single(CallLines(system.OrdersLogs, rejectedId));
        Assert.Equal("FailedPrecondition", CapturedLogs.ScalarText(refused, "StatusCode"));
        Assert.Equal(LogEventLevel.Information, refused.Level);

        // Orders' client side logs its call to Inventory too, with the status Inventory answered.
        Assert.Contains(system.OrdersLogs.WithProperty("CorrelationId", rejectedId), e =>
            e.Properties.ContainsKey("GrpcMethod") && CapturedLogs.ScalarText(e, "GrpcMethod") == "ReserveStock"
            && CapturedLogs.ScalarText(e, "StatusCode") == "FailedPrecondition");
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task No_log_event_of_either_service_contains_a_bearer_token(DatabaseProvider provider)
    {
        await using var system = await ObservedSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 10);
        var secret = $"eyJ{Guid.NewGuid():N}.secret.signature";

        await system.Orders.PlaceOrderAsync(Request("req-1", ("KB-001", 2)), cancellationToken: Ct);
        // A call carrying a bearer token of its own; whatever auth answers, the token must not reach a log.
        await Assert.ThrowsAnyAsync<RpcException>(() => system.Orders.GetOrderAsync(
            new GetOrderRequest { OrderId = "no-such-order" },
            new Metadata { { "authorization", $"Bearer {secret}" } }, cancellationToken: Ct).ResponseAsync);

        var everything = system.OrdersLogs.Events.Concat(system.InventoryLogs.Events).Select(CapturedLogs.FullText).ToList();
        Assert.Contains(everything, t => t.Contains("GetOrder", StringComparison.Ordinal));
        Assert.DoesNotContain(everything, t => t.Contains(secret, StringComparison.Ordinal));
        // Nor any other token (the service token Orders sends Inventory): a JWT starts with base64url of '{"'.
        Assert.DoesNotMatch("eyJ[A-Za-z0-9_-]{4,}", string.Join("\n", everything));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Orders_and_reservations_are_counted_in_the_metrics_endpoint(DatabaseProvider provider)
    {
        await using var system = await ObservedSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 3);

        await system.Orders.PlaceOrderAsync(Request("req-ok", ("KB-001", 3)), cancellationToken: Ct);
        await Assert.ThrowsAsync<RpcException>(() => system.Orders.PlaceOrderAsync(Request("req-short", ("KB-001", 1)), cancellationToken: Ct).ResponseAsync);

        var orders = await ObservedSystem.ScrapeAsync(system.OrdersHost);
        Assert.Matches("(?m)^orders_placed_total\\{[^}]*outcome=\"confirmed\"[^}]*\\} [1-9]", orders);
        Assert.Matches("(?m)^orders_placed_total\\{[^}]*outcome=\"rejected\"[^}]*\\} [1-9]", orders);
        Assert.Matches("(?m)^orders_placement_duration_seconds_count\\{[^}]*outcome=\"confirmed\"", orders);
        var inventory = await ObservedSystem.ScrapeAsync(system.InventoryHost);
        Assert.Matches("(?m)^inventory_reservations_total\\{[^}]*outcome=\"reserved\"[^}]*\\} [1-9]", inventory);
        Assert.Matches("(?m)^inventory_reservations_total\\{[^}]*outcome=\"rejected\"[^}]*\\} [1-9]", inventory);
        Assert.Matches("(?m)^inventory_units_reserved_total(\\{[^}]*\\})? [1-9]", inventory);
        Assert.Matches("(?m)^http_server_request_duration_seconds_count", inventory);
        // Kestrel's connection metrics stay; the per-request up-down counters (two updates a call each) are dropped.
        Assert.Matches("(?m)^kestrel_active_connections", inventory);
        Assert.DoesNotMatch("(?m)^http_server_active_requests", inventory);
        Assert.DoesNotMatch("(?m)^kestrel_queued_requests", inventory);
    }

    [Theory]
    [InlineData(StatusCode.OK, LogLevel.Debug)]
    [InlineData(StatusCode.InvalidArgument, LogLevel.Information)]
    [InlineData(StatusCode.NotFound, LogLevel.Information)]
    [InlineData(StatusCode.FailedPrecondition, LogLevel.Information)]
    [InlineData(StatusCode.Unauthenticated, LogLevel.Information)]
    [InlineData(StatusCode.Cancelled, LogLevel.Information)]
    [InlineData(StatusCode.Internal, LogLevel.Warning)]
    [InlineData(StatusCode.Unavailable, LogLevel.Warning)]
    [InlineData(StatusCode.DeadlineExceeded, LogLevel.Warning)]
    [InlineData(StatusCode.Unknown, LogLevel.Warning)]
    public void Call_line_level_is_debug_for_success_information_for_caller_errors_warning_for_server_failures(StatusCode code, LogLevel expected) =>
        Assert.Equal(expected, CallLoggingInterceptor.LevelFor(code));

    internal static IEnumerable<LogEvent> CallLines(CapturedLogs logs, string correlationId) =>
        logs.WithProperty("CorrelationId", correlationId).Where(e => e.Properties.ContainsKey("Peer"));

    private static string Ascii(string value) => new([.. value.Where(c => c is >= ' ' and <= '~')]);

    internal static PlaceOrderRequest Request(string requestId, params (string Sku, int Quantity)[] lines)
    {
        var request = new PlaceOrderRequest { RequestId = requestId, CustomerId = "cust-1" };
        request.Lines.AddRange(lines.Select(l => new OrderLine { Sku = l.Sku, Quantity = l.Quantity }));
        return request;
    }
}

/// <summary>
/// One PlaceOrder is one trace. Alone in its collection: the EF Core instrumentation keeps process-wide state,
/// and hosts of other tests starting and stopping their tracer providers at the same time make spans go missing.
/// </summary>
[Collection(TracingRunsAlone.Name)]
public class TracingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PlaceOrder_is_one_trace_from_client_through_orders_and_inventory_to_the_database(DatabaseProvider provider)
    {
        await using var system = await ObservedSystem.StartAsync(provider);
        await system.StockAsync("KB-001", 10);
        using var root = ObservedSystem.StartRootActivity();

        await system.Orders.PlaceOrderAsync(ObservabilityTests.Request("req-1", ("KB-001", 2)), cancellationToken: Ct);

        // Server spans end just after the response is sent; wait for Orders' to be exported.
        var spans = await system.SpansUntilAsync(root.TraceId, all => all.Any(s => Path(s) == "/orders.v1.OrderService/PlaceOrder"));
        var byId = spans.ToDictionary(s => s.SpanId);
        var ordersServer = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/orders.v1.OrderService/PlaceOrder");
        var inventoryServer = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/inventory.v1.InventoryService/ReserveStock");
        Assert.True(IsUnder(ordersServer, root.SpanId, byId), "Orders' server span is not under the client's span.");
        Assert.True(IsUnder(inventoryServer, ordersServer.SpanId, byId), "Inventory's server span is not under Orders' span.");
        Assert.True(spans.Any(s => s.Kind == ActivityKind.Client && s.GetTagItem("rpc.method") as string == "inventory.v1.InventoryService/ReserveStock"
            && IsUnder(s, ordersServer.SpanId, byId) && IsUnder(inventoryServer, s.SpanId, byId)),
            $"No gRPC client span for ReserveStock between Orders and Inventory in:\n{Describe(spans)}");
        Assert.True(spans.Any(s => IsDatabase(s) && IsUnder(s, inventoryServer.SpanId, byId)),
            $"No database span under Inventory's span in:\n{Describe(spans)}");
        Assert.True(spans.Any(s => IsDatabase(s) && IsUnder(s, ordersServer.SpanId, byId) && !IsUnder(s, inventoryServer.SpanId, byId)),
            $"No database span of Orders' own in:\n{Describe(spans)}");
    }

    [Fact]
    public async Task A_REST_call_is_traced_through_both_services_and_logged_with_the_callers_correlation_id()
    {
        await using var system = await ObservedSystem.StartAsync(DatabaseProvider.Sqlite);
        await system.StockAsync("KB-001", 10);
        using var root = ObservedSystem.StartRootActivity();
        var correlationId = $"rest-{Guid.NewGuid():N}";
        using var http = system.OrdersHost.CreateHttpClient(system.OrdersHost.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { requestId = "rest-1", customerId = "cust-1", lines = new[] { new { sku = "KB-001", quantity = 1 } } }),
        };
        request.Headers.Add("traceparent", $"00-{root.TraceId}-{root.SpanId}-01");
        request.Headers.Add(CorrelationContext.HeaderName, correlationId);

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await system.SpansUntilAsync(root.TraceId, all => all.Any(s => Path(s) == "/v1/orders"));
        var byId = spans.ToDictionary(s => s.SpanId);
        var ordersServer = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/v1/orders");
        var inventoryServer = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/inventory.v1.InventoryService/ReserveStock");
        Assert.True(IsUnder(inventoryServer, ordersServer.SpanId, byId), $"Inventory's span is not under the REST call's span in:\n{Describe(spans)}");
        var line = Assert.Single(ObservabilityTests.CallLines(system.OrdersLogs, correlationId));
        Assert.Equal(("PlaceOrder", "OK"), (CapturedLogs.ScalarText(line, "GrpcMethod"), CapturedLogs.ScalarText(line, "StatusCode")));
    }

    [Fact]
    public async Task With_Tracing_DatabaseCommands_false_calls_are_traced_without_database_spans()
    {
        await using var system = await ObservedSystem.StartAsync(
            DatabaseProvider.Sqlite, settings => settings[Telemetry.TraceDatabaseCommandsKey] = "false");
        await system.StockAsync("KB-001", 10);
        using var root = ObservedSystem.StartRootActivity();

        await system.Orders.PlaceOrderAsync(ObservabilityTests.Request("req-1", ("KB-001", 2)), cancellationToken: Ct);

        var spans = await system.SpansUntilAsync(root.TraceId, all => all.Any(s => Path(s) == "/orders.v1.OrderService/PlaceOrder"));
        Assert.Contains(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/orders.v1.OrderService/PlaceOrder");
        Assert.Contains(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/inventory.v1.InventoryService/ReserveStock");
        Assert.DoesNotContain(spans, IsDatabase);
    }

    [Fact]
    public async Task OTEL_TRACES_SAMPLER_parentbased_traceidratio_0_keeps_a_sampled_callers_trace_and_records_nothing_else()
    {
        await using var system = await ObservedSystem.StartAsync(DatabaseProvider.Sqlite, settings =>
        {
            settings["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio";
            settings["OTEL_TRACES_SAMPLER_ARG"] = "0";
        });
        await system.StockAsync("KB-001", 10);

        // A caller that sends no sampled trace context: at ratio 0 none of its calls is recorded.
        Activity.Current = null;
        await system.Orders.PlaceOrderAsync(ObservabilityTests.Request("req-unsampled", ("KB-001", 1)), cancellationToken: Ct);

        // A caller whose trace is sampled: the services follow its decision, database spans included.
        using (var root = ObservedSystem.StartRootActivity())
        {
            await system.Orders.PlaceOrderAsync(ObservabilityTests.Request("req-sampled", ("KB-001", 1)), cancellationToken: Ct);
            var spans = await system.SpansUntilAsync(root.TraceId, all => all.Any(s => Path(s) == "/orders.v1.OrderService/PlaceOrder"));
            Assert.Contains(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/orders.v1.OrderService/PlaceOrder");
            Assert.Contains(spans, s => s.Kind == ActivityKind.Server && Path(s) == "/inventory.v1.InventoryService/ReserveStock");
            Assert.Contains(spans, IsDatabase);

            // The unsampled calls ended before the sampled one started, so their spans would be exported by now.
            var others = system.AllSpans().Where(s => s.TraceId != root.TraceId).ToList();
            Assert.True(others.Count == 0, $"Spans outside the sampled trace:\n{Describe(others)}");
        }
    }

    private static string Describe(IEnumerable<Activity> spans) => string.Join("\n", spans.Select(s =>
        $"{s.SpanId} <- {s.ParentSpanId} {s.Source.Name} {s.Kind} '{s.DisplayName}' {string.Join(", ", s.TagObjects.Select(t => $"{t.Key}={t.Value}"))}"));

    private static string? Path(Activity span) => span.GetTagItem("url.path") as string;

    // EF Core's command spans, or the service's own around plain SQL (ReadConnections reads, GroupCommit units).
    private static bool IsDatabase(Activity span) =>
        (span.Source.Name.Contains("EntityFrameworkCore", StringComparison.Ordinal) || span.Source.Name == ReadConnections.ActivitySourceName)
        && (span.GetTagItem("db.system") ?? span.GetTagItem("db.system.name")) is not null;

    /// <summary>Whether <paramref name="ancestor"/> is on the parent chain of <paramref name="span"/>.</summary>
    private static bool IsUnder(Activity span, ActivitySpanId ancestor, Dictionary<ActivitySpanId, Activity> byId)
    {
        for (var parent = span.ParentSpanId; parent != default; parent = byId.TryGetValue(parent, out var next) ? next.ParentSpanId : default)
        {
            if (parent == ancestor)
            {
                return true;
            }
        }

        return false;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingRunsAlone
{
    public const string Name = "Tracing (not in parallel)";
}

/// <summary>Inventory and Orders on real Kestrel, each logging to its own <see cref="CapturedLogs"/> and exporting its spans.</summary>
file sealed class ObservedSystem : IAsyncDisposable
{
    private static readonly ActivitySource TestSource = new("Contoso.Retail.CrossService.Tests");

    // Samples the test's own root spans so the trace they start is recorded downstream.
    private static readonly ActivityListener RootListener = StartRootListener();

    private readonly TestSystem _system;
    private readonly SpanList _inventorySpans;
    private readonly SpanList _ordersSpans;

    private ObservedSystem(TestSystem system, CapturedLogs inventoryLogs, CapturedLogs ordersLogs, SpanList inventorySpans, SpanList ordersSpans)
    {
        _system = system;
        InventoryLogs = inventoryLogs;
        OrdersLogs = ordersLogs;
        _inventorySpans = inventorySpans;
        _ordersSpans = ordersSpans;
        Inventory = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
        Orders = new OrderService.OrderServiceClient(system.Orders.Channel);
    }

    public RunningService InventoryHost => _system.Inventory;

    public RunningService OrdersHost => _system.Orders;

    public CapturedLogs InventoryLogs { get; }

    public CapturedLogs OrdersLogs { get; }

    public InventoryService.InventoryServiceClient Inventory { get; }

    public OrderService.OrderServiceClient Orders { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Activity StartRootActivity()
    {
        GC.KeepAlive(RootListener);
        Activity.Current = null; // a new trace, not one of the test runner's
        return TestSource.StartActivity("client PlaceOrder", ActivityKind.Client)
            ?? throw new InvalidOperationException("The test's activity source has no listener.");
    }

    /// <param name="configure">Changes to both services' settings.</param>
    public static async Task<ObservedSystem> StartAsync(DatabaseProvider provider, Action<Dictionary<string, string?>>? configure = null)
    {
        var inventoryLogs = new CapturedLogs();
        var ordersLogs = new CapturedLogs();
        var inventorySpans = new SpanList();
        var ordersSpans = new SpanList();
        var settings = new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Verbose" };
        configure?.Invoke(settings);

        var system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Provider = provider,
            Settings = settings,
            Inventory = new() { Configure = builder => Observe(builder.Services, inventoryLogs, inventorySpans) },
            Orders = new() { Configure = builder => Observe(builder.Services, ordersLogs, ordersSpans) },
        });
        return new ObservedSystem(system, inventoryLogs, ordersLogs, inventorySpans, ordersSpans);
    }

    public async Task StockAsync(string sku, int available) =>
        await Inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = sku, Available = available }, cancellationToken: Ct);

    /// <summary>Every span either service has exported so far, whatever its trace.</summary>
    public IReadOnlyList<Activity> AllSpans() =>
        _ordersSpans.Snapshot().Concat(_inventorySpans.Snapshot()).DistinctBy(s => s.SpanId).ToList();

    /// <summary>
    /// Spans of <paramref name="traceId"/> exported by either service (in one process each provider also sees the
    /// other's, so they are merged by span id), polled until <paramref name="complete"/> holds.
    /// </summary>
    public async Task<IReadOnlyList<Activity>> SpansUntilAsync(ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> complete)
    {
        List<Activity> spans = [];
        await Eventually.WithinAsync(
            () =>
            {
                spans = _ordersSpans.Snapshot().Concat(_inventorySpans.Snapshot())
                    .Where(s => s.TraceId == traceId)
                    .DistinctBy(s => s.SpanId)
                    .ToList();
                return Task.FromResult(complete(spans));
            },
            TimeSpan.FromSeconds(30));
        return spans;
    }

    /// <summary>GET /metrics over the service's HTTP/2 cleartext port.</summary>
    public static async Task<string> ScrapeAsync(RunningService service)
    {
        using var http = new HttpClient
        {
            BaseAddress = service.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        return await http.GetStringAsync(new Uri(Telemetry.MetricsPath, UriKind.Relative), Ct);
    }

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    private static void Observe(IServiceCollection services, CapturedLogs logs, SpanList spans)
    {
        services.AddSingleton<ILogEventSink>(logs);
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        // EF Core remembers "nobody listens" for a second per (pooled) context. The migration ran before this host's
        // tracer started, so without this a call right after start-up would miss its database spans.
        services.ConfigureDbContext<Contoso.Retail.Inventory.Data.SqliteInventoryDbContext>(NoLoggingCache);
        services.ConfigureDbContext<Contoso.Retail.Inventory.Data.PostgresInventoryDbContext>(NoLoggingCache);
        services.ConfigureDbContext<Contoso.Retail.Orders.Data.SqliteOrdersDbContext>(NoLoggingCache);
        services.ConfigureDbContext<Contoso.Retail.Orders.Data.PostgresOrdersDbContext>(NoLoggingCache);
    }

    private static void NoLoggingCache(DbContextOptionsBuilder options) => options.ConfigureLoggingCacheTime(TimeSpan.Zero);

    private static ActivityListener StartRootListener()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source == TestSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}

/// <summary>The in-memory exporter's collection, safe to read while a service exports into it.</summary>
file sealed class SpanList : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _spans.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public IReadOnlyList<Activity> Snapshot()
    {
        lock (_lock)
        {
            return [.. _spans];
        }
    }

    public void Add(Activity item)
    {
        lock (_lock)
        {
            _spans.Add(item);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _spans.Clear();
        }
    }

    public bool Contains(Activity item)
    {
        lock (_lock)
        {
            return _spans.Contains(item);
        }
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_lock)
        {
            _spans.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(Activity item)
    {
        lock (_lock)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
