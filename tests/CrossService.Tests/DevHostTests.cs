using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>The built DevHost as a user runs it: a child process, its console output, signals.</summary>
public sealed class DevHostTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);
    private static readonly string[] Services =
    [
        "inventory",
        "orders",
        //#if (IncludeTelemetry)
        "telemetry",
        //#endif
    ];

    [Fact]
    public async Task Demo_runs_the_scenario_and_exits_0()
    {
        await using var devHost = DevHostProcess.Start("--demo");

        var exitCode = await devHost.WaitForExitAsync(Generous);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{devHost.Output}");
        Assert.Equal(Services, devHost.Lines.Where(l => l.StartsWith("ready ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
        Assert.Equal(Services.Order(), devHost.Ready.Keys.Order());
        Assert.Contains(devHost.Lines, l => l.Contains("CONFIRMED: order ", StringComparison.Ordinal));
        Assert.Contains(devHost.Lines, l => l.Contains("rejected: FailedPrecondition", StringComparison.Ordinal));
        Assert.Contains(devHost.Lines, l => l.Trim().StartsWith("DK-006: INSUFFICIENT_STOCK", StringComparison.Ordinal));
        Assert.Contains(devHost.Lines, l => l.Contains("watch: changed DK-006 available 1, reserved 2", StringComparison.Ordinal));
        //#if (IncludeTelemetry)
        Assert.Equal(3, devHost.Lines.Count(l => l.Contains("temperature_c: 200 points", StringComparison.Ordinal)));
        //#endif
        Assert.Equal("demo finished: every step did what it should", devHost.Lines[^1]);
    }

    [Fact]
    public async Task Started_normally_serves_all_three_and_stops_cleanly_on_SIGTERM()
    {
        var dataDir = Directory.CreateTempSubdirectory("contoso-retail-devhost-test-");
        try
        {
            await using var devHost = DevHostProcess.Start("--data-dir", dataDir.FullName, "--free-ports");
            await Eventually.HoldsAsync(
                () => Task.FromResult(devHost.HasExited ? throw new InvalidOperationException($"DevHost exited early:\n{devHost.Output}") : devHost.Rest.Count == Services.Length),
                "every service to be ready and its REST endpoint printed",
                Generous,
                TimeSpan.FromMilliseconds(50));

            await AssertServingAsync(devHost.Ready);
            await AssertRestAsync(devHost);
            await devHost.SendSigtermAsync();
            var exitCode = await devHost.WaitForExitAsync(Generous);

            Assert.True(exitCode == 0, $"exit code {exitCode}:\n{devHost.Output}");
            Assert.Equal(Services, devHost.Lines.Where(l => l.StartsWith("ready ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
            Assert.Contains("stopping", devHost.Lines);
            Assert.Equal("stopped", devHost.Lines[^1]);
            Assert.Equal(Services.Order().Select(s => $"{s}.db"), dataDir.GetFiles("*.db").Select(f => f.Name).Order());
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_argument_exits_2_with_an_error()
    {
        await using var devHost = DevHostProcess.Start("--no-such-option");

        var exitCode = await devHost.WaitForExitAsync(Generous);

        Assert.Equal(2, exitCode);
        Assert.Equal(["error: unknown argument '--no-such-option' (see --help)"], devHost.Lines);
    }

    /// <summary>Each printed address answers its own service (with sample data in Inventory) and reports SERVING.</summary>
    /// <summary>Each "rest" line names a live REST/JSON endpoint: its OpenAPI document, and a route with a development token.</summary>
    private static async Task AssertRestAsync(DevHostProcess devHost)
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(Services, devHost.Lines.Where(l => l.StartsWith("rest ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
        foreach (var (service, url) in devHost.Rest)
        {
            using var http = new HttpClient { BaseAddress = url };
            using var document = await http.GetAsync("/openapi/v1.json", ct);
            Assert.True(document.IsSuccessStatusCode, $"{service}: {(int)document.StatusCode} for {url}openapi/v1.json");
        }

        // DevHost runs in Development, where each service also serves the Swagger UI page.
        using var ui = new HttpClient { BaseAddress = devHost.Rest["orders"] };
        using var page = await ui.GetAsync("/openapi/index.html", ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);

        using var inventory = new HttpClient { BaseAddress = devHost.Rest["inventory"] };
        inventory.DefaultRequestHeaders.Authorization = new("Bearer", DevTokens.Mint("devhost-test", ["inventory.read"], TimeSpan.FromMinutes(10)));
        var item = await inventory.GetStringAsync("/v1/items/DK-006", ct);
        Assert.Contains("\"sku\":\"DK-006\"", item, StringComparison.Ordinal);
    }

    private static async Task AssertServingAsync(IReadOnlyDictionary<string, Uri> ready)
    {
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        // DevHost runs in Development, on the well-known development key (its appsettings.Development.json).
        string[] scopes =
        [
            "inventory.read",
            "orders.write",
            //#if (IncludeTelemetry)
            "telemetry.read",
            //#endif
        ];
        var token = DevTokens.Mint("devhost-test", scopes, TimeSpan.FromMinutes(10));
        using var inventory = BearerChannel.ForAddress(ready["inventory"], token);
        using var orders = BearerChannel.ForAddress(ready["orders"], token);
        //#if (IncludeTelemetry)
        using var telemetry = BearerChannel.ForAddress(ready["telemetry"], token);
        //#endif

        var items = await new InventoryService.InventoryServiceClient(inventory).ListItemsAsync(new ListItemsRequest(), deadline: deadline, cancellationToken: ct);
        Assert.Contains(items.Items, i => i.Sku == "DK-006");

        var placed = await new OrderService.OrderServiceClient(orders).PlaceOrderAsync(
            new PlaceOrderRequest { RequestId = Guid.NewGuid().ToString(), CustomerId = "devhost-test", Lines = { new OrderLine { Sku = "KB-001", Quantity = 1 } } },
            deadline: deadline, cancellationToken: ct);
        Assert.Equal(OrderStatus.Confirmed, placed.Order.Status);

        GrpcChannel[] channels =
        [
            inventory,
            orders,
            //#if (IncludeTelemetry)
            telemetry,
            //#endif
        ];
        foreach (var channel in channels)
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: deadline, cancellationToken: ct);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        //#if (IncludeTelemetry)
        using var query = new TelemetryIngestService.TelemetryIngestServiceClient(telemetry).Query(
            new QueryRequest
            {
                DeviceId = "nobody",
                StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
                EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
            },
            deadline: deadline, cancellationToken: ct);
        var points = 0;
        await foreach (var response in query.ResponseStream.ReadAllAsync(ct))
        {
            points += response.Points.Count;
        }

        Assert.Equal(0, points);
        //#endif
    }
}
