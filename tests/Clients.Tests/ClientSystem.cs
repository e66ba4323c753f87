using System.Net;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.DevHost;
using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
//#if (IncludeTelemetry)
using Contoso.Retail.TelemetryIngest;
//#endif
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

[assembly: AssemblyFixture(typeof(Contoso.Retail.Clients.Tests.ClientSystem))]

namespace Contoso.Retail.Clients.Tests;

/// <summary>
/// The system the clients call, as DevHost runs it: every service on real Kestrel (SQLite,
/// free ports), each with an HTTP/2 gRPC endpoint and an HTTP/1.1 gRPC-Web endpoint whose CORS allows the page's
/// origin, and DevHost's page server (Development, so it hands the page a token) on a folder the browser test
/// builds the page into. Shared by every test; they keep apart with their own SKUs, customers and devices.
/// </summary>
public sealed class ClientSystem : IAsyncLifetime
{
    private readonly List<TestDatabase> _databases = [];
    private readonly List<RunningService> _services = [];

    public RunningService Inventory { get; private set; } = null!;

    public RunningService Orders { get; private set; } = null!;

    //#if (IncludeTelemetry)
    public RunningService Telemetry { get; private set; } = null!;

    //#endif
    public Uri InventoryWeb { get; private set; } = null!;

    public Uri OrdersWeb { get; private set; } = null!;

    //#if (IncludeTelemetry)
    public Uri TelemetryWeb { get; private set; } = null!;

    //#endif
    public WebPage Page { get; private set; } = null!;

    /// <summary>Where the page is served from; empty until a test builds the page into it.</summary>
    public string PageRoot { get; } = Directory.CreateTempSubdirectory("retail-page-").FullName;

    /// <summary>What the clients' own tests read: the services' gRPC addresses and the development key.</summary>
    public Dictionary<string, string> Environment() => new()
    {
        ["RETAIL_INVENTORY_URL"] = Url(Inventory.Address),
        ["RETAIL_ORDERS_URL"] = Url(Orders.Address),
        //#if (IncludeTelemetry)
        ["RETAIL_TELEMETRY_URL"] = Url(Telemetry.Address),
        //#endif
        ["RETAIL_DEV_SIGNING_KEY"] = DevTokens.DevelopmentKey,
    };

    public async ValueTask InitializeAsync()
    {
        // The page first: the services' CORS needs its origin. Its config is read when the page loads.
        Page = await WebPage.StartAsync("http://127.0.0.1:0", PageRoot, "Development",
            () => new WebPageConfig(Url(InventoryWeb), Url(OrdersWeb))
            {
                //#if (IncludeTelemetry)
                Telemetry = Url(TelemetryWeb),
                //#endif
            },
            subject => DevTokens.Mint(subject, WebPage.TokenScopes, TimeSpan.FromHours(1)), CancellationToken.None);

        (Inventory, InventoryWeb) = await StartAsync("Inventory", [], b => b.AddServiceDefaults().AddInventory(), app => app.MapInventoryAsync());
        (Orders, OrdersWeb) = await StartAsync("Orders", new() { ["Services:Inventory"] = Url(Inventory.Address) },
            b => b.AddServiceDefaults().AddOrders(), app => app.MapOrdersAsync());
        //#if (IncludeTelemetry)
        (Telemetry, TelemetryWeb) = await StartAsync("Telemetry", [], b => b.AddServiceDefaults().AddTelemetryIngest(), app => app.MapTelemetryIngestAsync());
        //#endif
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Enumerable.Reverse(_services))
        {
            await service.DisposeAsync();
        }

        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        if (Page is not null)
        {
            await Page.DisposeAsync();
        }

        Directory.Delete(PageRoot, recursive: true);
    }

    public static string Url(Uri address) => address.ToString().TrimEnd('/');

    /// <summary>A service on Kestrel with, besides RunningService's HTTP/2 endpoint, an HTTP/1.1 one for gRPC-Web.</summary>
    private async Task<(RunningService Service, Uri Web)> StartAsync(
        string name, Dictionary<string, string?> settings, Action<WebApplicationBuilder> configure, Func<WebApplication, Task> start)
    {
        var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        _databases.Add(database);
        var all = database.Settings(name);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        all["GrpcWeb:Enabled"] = "true";
        all["GrpcWeb:AllowedOrigins:0"] = Page.Origin;
        ListenOptions? web = null;
        var service = await RunningService.StartAsync(Transport.Kestrel, all, builder =>
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Loopback, 0, listen => (web = listen).Protocols = HttpProtocols.Http1));
            configure(builder);
        }, app =>
        {
            // As Program.cs does: gRPC-Web and CORS come with the default endpoints.
            app.MapDefaultEndpoints();
            return start(app);
        });
        _services.Add(service);
        return (service, new Uri($"http://127.0.0.1:{web!.IPEndPoint!.Port}"));
    }
}
