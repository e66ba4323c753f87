using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Interceptors;
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>
/// A scripted inventory server on real Kestrel (loopback, HTTP/2) and a client host that reaches it the way a
/// service reaches a downstream: <c>builder.AddServiceGrpcClient&lt;TClient&gt;("Inventory")</c>.
/// </summary>
public sealed class RetryHarness : IAsyncDisposable
{
    private readonly RunningService _server;
    private readonly RunningService _client;

    private RetryHarness(FailureScript script, RunningService server, RunningService client, RetryLog log)
    {
        Script = script;
        _server = server;
        _client = client;
        Log = log;
    }

    public FailureScript Script { get; }

    /// <summary>What the retry interceptor logged; signals the first retry it schedules.</summary>
    public RetryLog Log { get; }

    public InventoryService.InventoryServiceClient Inventory => _client.Services.GetRequiredService<InventoryService.InventoryServiceClient>();

    public UnmarkedClient Unmarked => _client.Services.GetRequiredService<UnmarkedClient>();

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="settings">Client configuration over the test defaults (short backoff, breaker out of the way).</param>
    /// <param name="configureClients">Extra configuration of both clients, after AddServiceGrpcClient.</param>
    public static async Task<RetryHarness> StartAsync(
        IDictionary<string, string?>? settings = null, Action<IHttpClientBuilder>? configureClients = null)
    {
        var script = new FailureScript();
        var server = await RunningService.StartAsync(
            Transport.Kestrel,
            new Dictionary<string, string?>(),
            builder =>
            {
                builder.Services.AddGrpc();
                builder.Services.AddSingleton(script);
            },
            app =>
            {
                app.MapGrpcService<ScriptedInventory>();
                app.MapGrpcService<UnmarkedService>();
                return Task.CompletedTask;
            });

        var clientSettings = new Dictionary<string, string?>
        {
            [ServiceHosts.InventoryAddressKey] = server.Address.ToString(),
            // Roomy, so a cold first call on a busy machine does not run out of time.
            ["GrpcClients:DefaultDeadline"] = "00:00:30",
            ["GrpcClients:Retry:BaseDelay"] = "00:00:00.010",
            ["GrpcClients:Retry:MaxDelay"] = "00:00:00.040",
            ["GrpcClients:CircuitBreaker:MinimumThroughput"] = "1000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            clientSettings[key] = value;
        }

        var log = new RetryLog();
        var client = await RunningService.StartAsync(
            Transport.InMemory,
            clientSettings,
            builder =>
            {
                builder.Logging.ClearProviders().AddProvider(log);
                builder.AddDefaultAuth();
                var inventory = builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory");
                var unmarked = builder.AddServiceGrpcClient<UnmarkedClient>("Inventory");
                configureClients?.Invoke(inventory);
                configureClients?.Invoke(unmarked);
            },
            _ => Task.CompletedTask);
        return new RetryHarness(script, server, client, log);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }
}

/// <summary>Captures what <see cref="RetryClientInterceptor"/> logs, so a test can act while a retry is waiting.</summary>
public sealed class RetryLog : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public TaskCompletionSource RetryScheduled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) =>
        categoryName == typeof(RetryClientInterceptor).FullName ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }

        if (line.StartsWith("Retrying", StringComparison.Ordinal))
        {
            RetryScheduled.TrySetResult();
        }
    }

    private sealed class Logger(RetryLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Add(formatter(state, exception));
    }
}
