using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;

using Grpc.Core;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>
/// HttpClientFactory wraps every HTTP request in a logging scope and request logs; under a gRPC call that is cost on
/// every server-to-server call for lines the services keep off, so the service clients drop those handlers.
/// </summary>
public sealed class ClientRequestLoggingTests
{
    [Fact]
    public async Task A_service_client_call_opens_no_HttpClient_logging_scope_and_writes_no_HttpClient_log()
    {
        // Accepts connections and never answers: the call's HTTP request goes through the handler pipeline, then times out.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Services:Inventory"] = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}",
            ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
            ["GrpcClients:Retry:MaxAttempts"] = "1",
        });
        var log = new CategoryLog();
        builder.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(log);
        builder.AddDefaultAuth();
        builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory");
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        using (var scope = host.Services.CreateScope())
        {
            var client = scope.ServiceProvider.GetRequiredService<InventoryService.InventoryServiceClient>();
            var call = await Assert.ThrowsAsync<RpcException>(async () => await client.GetItemAsync(
                new GetItemRequest { Sku = "KB-001" }, deadline: DateTime.UtcNow.AddMilliseconds(500), cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(StatusCode.DeadlineExceeded, call.StatusCode);
        }

        Assert.Contains(log.Categories, c => c.StartsWith("Grpc.Net.Client", StringComparison.Ordinal));   // the capture works
        Assert.DoesNotContain(log.Categories, c => c.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal));
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The categories that wrote a log line or opened a scope.</summary>
    private sealed class CategoryLog : ILoggerProvider
    {
        public ConcurrentDictionary<string, bool> Used { get; } = new();

        public IEnumerable<string> Categories => Used.Keys;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CategoryLog log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                log.Used[category] = true;
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Used[category] = true;
        }
    }
}
