using System.Net;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.DevHost;
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
    private readonly Dictionary<string, ListenOptions> _webEndpoints = [];
    private TestSystem _system = null!;

    public RunningService Inventory => _system.Inventory;

    public RunningService Orders => _system.Orders;

    //#if (IncludeTelemetry)
    public RunningService Telemetry => _system.Telemetry;

    //#endif
    public Uri InventoryWeb { get; private set; } = null!;

    public Uri OrdersWeb { get; private set; } = null!;

    //#if (IncludeTelemetry)
    public Uri TelemetryWeb { get; private set; } = null!;

    //#endif
    public WebPage Page { get; private set; } = null!;

    /// <summary>Where the page is served from; empty until a test builds the page into it.</summary>
    public string PageRoot { get; } = Directory.CreateTempSubdirectory("contoso-retail-page-").FullName;

    /// <summary>What the clients' own tests read: the services' gRPC addresses and the development key.</summary>
    public Dictionary<string, string> Environment() => new()
    {
        ["CONTOSO_RETAIL_INVENTORY_URL"] = Url(Inventory.Address),
        ["CONTOSO_RETAIL_ORDERS_URL"] = Url(Orders.Address),
        //#if (IncludeTelemetry)
        ["CONTOSO_RETAIL_TELEMETRY_URL"] = Url(Telemetry.Address),
        //#endif
        ["CONTOSO_RETAIL_DEV_SIGNING_KEY"] = DevTokens.DevelopmentKey,
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

        _system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Settings = { ["GrpcWeb:Enabled"] = "true", ["GrpcWeb:AllowedOrigins:0"] = Page.Origin },
            Inventory = new() { Prepare = WebEndpoint("Inventory") },
            Orders = new() { Prepare = WebEndpoint("Orders") },
            //#if (IncludeTelemetry)
            Telemetry = new() { Prepare = WebEndpoint("Telemetry") },
            //#endif
        });
        InventoryWeb = WebAddress("Inventory");
        OrdersWeb = WebAddress("Orders");
        //#if (IncludeTelemetry)
        TelemetryWeb = WebAddress("Telemetry");
        //#endif
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }

        if (Page is not null)
        {
            await Page.DisposeAsync();
        }

        Directory.Delete(PageRoot, recursive: true);
    }

    public static string Url(Uri address) => address.ToString().TrimEnd('/');

    /// <summary>Besides RunningService's HTTP/2 endpoint, an HTTP/1.1 one for gRPC-Web (mapped with the default endpoints, as Program.cs does).</summary>
    private Action<WebApplicationBuilder> WebEndpoint(string service) => builder =>
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => (_webEndpoints[service] = listen).Protocols = HttpProtocols.Http1));

    private Uri WebAddress(string service) => new($"http://127.0.0.1:{_webEndpoints[service].IPEndPoint!.Port}");
}
