using System.Net;
using System.Net.Sockets;

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Orders.V1;

namespace Contoso.Retail.AppHost.Tests;

/// <summary>`dotnet run --project src/AppHost`, as a test: every service its own healthy process, Orders reaching Inventory.</summary>
public sealed class AppHostTests
{
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(3);

    private static readonly string[] Services =
    [
        "inventory",
        "orders",
        //#if (IncludeTelemetry)
        "telemetry",
        //#endif
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The model alone (nothing starts): quick enough to run without the Long tests.</summary>
    [Fact]
    public async Task Every_service_binds_its_own_ports_without_a_proxy_and_Orders_waits_for_Inventory()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(Ct);
        var projects = builder.Resources.OfType<ProjectResource>().ToDictionary(p => p.Name);

        Assert.Equal(Services.Order(StringComparer.Ordinal), projects.Keys.Order(StringComparer.Ordinal));
        foreach (var project in projects.Values)
        {
            var endpoints = project.Annotations.OfType<EndpointAnnotation>().ToList();
            Assert.Contains(endpoints, e => e.Name == "Grpc");
            Assert.Contains(endpoints, e => e.Name == "Management");
            Assert.Contains(endpoints, e => e.Name == "Web"); // REST/JSON and gRPC-Web
            Assert.True(project.Annotations.OfType<ProxySupportAnnotation>().Any(a => !a.ProxyEnabled) || endpoints.All(e => !e.IsProxied),
                $"{project.Name}'s endpoints go through DCP's proxy.");
        }

        Assert.Contains(projects["orders"].Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "inventory");
    }

    /// <summary>
    /// `-- --Database postgres`, the model alone (running it needs a Docker engine for the container): one PostgreSQL
    /// server, a database of its own for each service, which is told to use PostgreSQL and waits for the server.
    /// </summary>
    [Fact]
    public async Task With_Database_postgres_each_service_gets_its_own_database_on_one_server_and_waits_for_it()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Database", "postgres"], Ct);
        var server = Assert.Single(builder.Resources.OfType<PostgresServerResource>());
        var databases = builder.Resources.OfType<PostgresDatabaseResource>().ToList();

        Assert.Equal(Services.Select(s => $"{s}-db").Order(StringComparer.Ordinal), databases.Select(d => d.Name).Order(StringComparer.Ordinal));
        Assert.All(databases, d => Assert.Same(server, d.Parent));
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            var environment = new Dictionary<string, object>();
            var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish), environment, Ct);
            foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(context);
            }

            Assert.Equal("Postgres", environment["Database__Provider"]);
            var connection = Assert.Single(environment, e => e.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal));
            Assert.Equal($"{project.Name}-db", Assert.IsType<ConnectionStringReference>(connection.Value).Resource.Name);
            Assert.Contains(project.Annotations.OfType<WaitAnnotation>(), w => w.Resource == server);
        }
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task Every_service_starts_healthy_in_its_own_process_and_an_order_placed_through_Orders_reserves_stock_in_Inventory()
    {
        // Fresh SQLite files, seeded with the sample items (the services run in Development).
        var data = Directory.CreateTempSubdirectory("apphost-test-");
        try
        {
            var placed = await PlaceOrderThroughAppHostAsync(data.FullName);

            Assert.Equal(OrderStatus.Confirmed, placed.Order.Status);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task A_gRPC_port_already_taken_stops_that_service_and_its_callers_never_start()
    {
        // Someone else holds Inventory's gRPC port: without a proxy in front, Inventory cannot bind it and exits, and
        // Orders (which waits for Inventory) is never started against whatever answers there.
        using var squatter = new TcpListener(IPAddress.Loopback, 5101);
        squatter.Start();
        var data = Directory.CreateTempSubdirectory("apphost-test-");
        try
        {
            var builder = await CreateBuilderAsync(data.FullName);
            await using var app = await builder.BuildAsync(Ct);
            // Not awaited: starting waits for Orders, which waits for Inventory.
            var starting = app.StartAsync(Ct);

            var inventory = await app.ResourceNotifications
                .WaitForResourceAsync("inventory", e => e.Snapshot.State?.Text is "Exited" or "FailedToStart" or "Finished", Ct)
                .WaitAsync(StartBound, Ct);
            app.ResourceNotifications.TryGetCurrentState("orders", out var orders);

            Assert.NotEqual(0, inventory.Snapshot.ExitCode ?? 0);
            Assert.NotEqual("Running", orders?.Snapshot.State?.Text);
            Assert.False(starting.IsCompletedSuccessfully, "The application reported itself started with Inventory down.");
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The AppHost as `dotnet run` builds it, except that the services export no OTLP: Aspire.Hosting.Testing starts no
    /// dashboard, and with nothing at the OTLP endpoint every service spent ~10 s of its stop retrying the export
    /// (Aspire sets OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY=in_memory): 32 of the 53 s the two tests that start it took.
    /// </summary>
    private static async Task<IDistributedApplicationTestingBuilder> CreateBuilderAsync(string dataDir)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--DataDir", dataDir], Ct);
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(context => context.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT"));
        }

        return builder;
    }

    private static async Task<PlaceOrderResponse> PlaceOrderThroughAppHostAsync(string dataDir)
    {
        var builder = await CreateBuilderAsync(dataDir);
        await using var app = await builder.BuildAsync(Ct);
        await app.StartAsync(Ct).WaitAsync(StartBound, Ct);

        foreach (var name in Services)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, Ct).WaitAsync(StartBound, Ct);
        }

        var token = DevTokens.Mint("apphost-test", ["orders.write", "orders.read"], TimeSpan.FromMinutes(10));
        using var channel = BearerChannel.ForAddress(app.GetEndpoint("orders", "Grpc"), token);
        var client = new OrderService.OrderServiceClient(channel);
        var placed = await client.PlaceOrderAsync(
            new PlaceOrderRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                CustomerId = "apphost-test",
                Lines = { new OrderLine { Sku = "CB-005", Quantity = 1 } },
            },
            deadline: DateTime.UtcNow.AddSeconds(30),
            cancellationToken: Ct);

        // The same order over REST/JSON, on the Web endpoint the AppHost exposes.
        using var http = new HttpClient { BaseAddress = app.GetEndpoint("orders", "Web") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var json = await http.GetStringAsync($"/v1/orders/{placed.Order.OrderId}", Ct);
        Assert.Contains($"\"orderId\":\"{placed.Order.OrderId}\"", json, StringComparison.Ordinal);
        return placed;
    }
}
