using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.DevHost;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Clients.Tests;

/// <summary>
/// The last mile: the page (clients/web, Connect-ES generated from protos/ on this run) in real headless Chromium,
/// calling the services over gRPC-Web with CORS, with the token DevHost's page server hands out in Development.
/// </summary>
public sealed class BrowserPageTests(ClientSystem system)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    // npm ci, code generation, a bundle and a browser: the longest test of the product's own; left out by Category=Long.
    [Fact]
    [Trait("Category", "Long")]
    public async Task Page_in_headless_Chromium_shows_live_stock_and_places_an_order_over_gRPC_Web()
    {
        var (node, npm) = ClientToolchain.RequireNode();
        Tool.Require(ClientToolchain.Chromium, "apt-get install chromium");
        var dir = ClientToolchain.ClientsDir("web");
        await ClientToolchain.NpmCiAsync(npm, dir);
        var generate = await ClientToolchain.RunAsync(npm, ["run", "generate", "--silent"], dir, [], Timeout);
        Assert.True(generate.ExitCode == 0, $"generating and type-checking the page's code from protos/ failed:\n{generate.Output}");
        var build = await ClientToolchain.RunAsync(node, ["build.mjs", system.PageRoot], dir, [], Timeout);
        Assert.True(build.ExitCode == 0, build.Output);

        var sku = $"WEB-{Guid.NewGuid():N}"[..12].ToUpperInvariant();
        var inventory = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
        await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "Browser widget", Available = 5 },
            cancellationToken: TestContext.Current.CancellationToken);
        var screenshot = Repository.PathOf("TestResults", "clients", "page.png");
        var environment = new Dictionary<string, string>
        {
            ["PAGE_URL"] = system.Page.Address.ToString(),
            ["CONTOSO_RETAIL_TEST_SKU"] = sku,
            ["CHROMIUM"] = ClientToolchain.Chromium,
            ["SCREENSHOT"] = screenshot,
        };

        var run = await ClientToolchain.RunAsync(node, ["--test", "--test-reporter=tap", "test/page.test.mjs"], dir, environment, Timeout);

        if (File.Exists(screenshot))
        {
            TestContext.Current.AddAttachment("page.png", await File.ReadAllBytesAsync(screenshot, TestContext.Current.CancellationToken), "image/png");
        }

        var (pass, fail, skipped) = ClientToolchain.NodeTestCounts(run.StdOut);
        Assert.True(run.ExitCode == 0 && pass == 1 && fail == 0 && skipped == 0, run.Output);
        Assert.True(File.Exists(screenshot), $"no screenshot at {screenshot}");

        // What the page did happened in the services: 2 reserved by an order of the page's customer.
        var item = (await inventory.GetItemAsync(new GetItemRequest { Sku = sku }, cancellationToken: TestContext.Current.CancellationToken)).Item;
        Assert.Equal((3, 2), (item.Available, item.Reserved));
        var orders = new OrderService.OrderServiceClient(system.Orders.Channel);
        var placed = await orders.ListOrdersAsync(new ListOrdersRequest { CustomerId = WebPage.Customer }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(placed.Orders, o => o.Status == OrderStatus.Confirmed && o.Lines.Any(l => l.Sku == sku && l.Quantity == 2));
    }
}
