using Contoso.Retail.Cli;
using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
//#if (IncludeTelemetry)
using Contoso.Retail.TelemetryIngest;
//#endif
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Builder;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>What one in-process run of the Cli printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>
/// Every service on real Kestrel (SQLite; the Cli does not care about the database),
/// shared by the Cli tests, which keep apart by using their own SKUs, customers and devices.
/// </summary>
public sealed class CliServices : IAsyncLifetime
{
    private readonly List<TestDatabase> _databases = [];
    private readonly List<RunningService> _services = [];

    public RunningService Inventory { get; private set; } = null!;

    public RunningService Orders { get; private set; } = null!;

    //#if (IncludeTelemetry)
    public RunningService Telemetry { get; private set; } = null!;

    //#endif
    /// <summary>Runs `retail args...` against these services, capturing stdout and stderr.</summary>
    public Task<CliResult> RunAsync(params string[] args) =>
        RunCliAsync([
            .. args,
            "--inventory", Url(Inventory),
            "--orders", Url(Orders),
            //#if (IncludeTelemetry)
            "--telemetry", Url(Telemetry),
            //#endif
        ]);

    /// <summary>Runs `retail args...` exactly as given.</summary>
    public static async Task<CliResult> RunCliAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await RetailCli.RunAsync(args, stdout, stderr, TestContext.Current.CancellationToken);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    public async ValueTask InitializeAsync()
    {
        Inventory = await StartAsync("Inventory", [], b => b.AddServiceDefaults().AddInventory(), app => app.MapInventoryAsync());
        Orders = await StartAsync("Orders", new() { ["Services:Inventory"] = Url(Inventory) },
            b => b.AddServiceDefaults().AddOrders(), app => app.MapOrdersAsync());
        //#if (IncludeTelemetry)
        Telemetry = await StartAsync("Telemetry", [], b => b.AddServiceDefaults().AddTelemetryIngest(), app => app.MapTelemetryIngestAsync());
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
    }

    private static string Url(RunningService service) => service.Address.ToString().TrimEnd('/');

    private async Task<RunningService> StartAsync(
        string name, Dictionary<string, string?> extra, Action<WebApplicationBuilder> configure, Func<WebApplication, Task> start)
    {
        var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        _databases.Add(database);
        var settings = database.Settings(name);
        settings["Serilog:MinimumLevel:Default"] = "Warning";
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var service = await RunningService.StartAsync(Transport.Kestrel, settings, configure, start);
        _services.Add(service);
        return service;
    }
}
