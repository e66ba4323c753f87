using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TestSupport;

/// <summary>Which services a <see cref="TestSystem"/> starts (null: not started), on which provider, with what overrides.</summary>
public sealed class TestSystemOptions
{
    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;

    /// <summary>Applied to every service over its database settings, before its own <see cref="ServiceSetup.Settings"/>.</summary>
    public Dictionary<string, string?> Settings { get; init; } = [];

    /// <summary>Runs on every service's builder before its own <see cref="ServiceSetup.Prepare"/>.</summary>
    public Action<WebApplicationBuilder>? Prepare { get; init; }

    public ServiceSetup? Inventory { get; init; }

    /// <summary>Started after Inventory and pointed at it.</summary>
    public ServiceSetup? Orders { get; init; }

    //#if (IncludeTelemetry)
    public ServiceSetup? Telemetry { get; init; }

    //#endif
    /// <summary>Wraps the handler of Orders' Inventory client when Inventory runs in memory (there is no network to cut there).</summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? InventoryLink { get; init; }
}

/// <summary>
/// Any subset of the services, each on a fresh database of its own on the chosen provider, Orders calling Inventory
/// as deployed (over loopback on Kestrel; through the TestServer in memory). Disposing stops them and drops the databases.
/// </summary>
public sealed class TestSystem : IAsyncDisposable
{
    private readonly List<TestDatabase> _databases = [];
    private readonly List<RunningService> _services = [];
    private RunningService? _inventory;
    private RunningService? _orders;
    //#if (IncludeTelemetry)
    private RunningService? _telemetry;
    //#endif

    private TestSystem()
    {
    }

    public RunningService Inventory => _inventory ?? throw NotStarted("Inventory");

    public RunningService Orders => _orders ?? throw NotStarted("Orders");

    //#if (IncludeTelemetry)
    public RunningService Telemetry => _telemetry ?? throw NotStarted("Telemetry");

    //#endif
    /// <summary>The services started, in the order they started.</summary>
    public IReadOnlyList<RunningService> Services => _services;

    public static async Task<TestSystem> StartAsync(TestSystemOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var system = new TestSystem();
        try
        {
            if (options.Inventory is { } inventory)
            {
                system._inventory = await system.AddAsync(ServiceHosts.StartInventoryAsync(await system.SetupAsync(options, "Inventory", inventory)));
            }

            if (options.Orders is { } orders)
            {
                var setup = await system.SetupAsync(options, "Orders", orders);
                system._orders = await system.AddAsync(
                    ServiceHosts.StartOrdersAsync(system.LinkedToInventory(setup, options), system.Inventory.Address.ToString()));
            }

            //#if (IncludeTelemetry)
            if (options.Telemetry is { } telemetry)
            {
                system._telemetry = await system.AddAsync(ServiceHosts.StartTelemetryAsync(await system.SetupAsync(options, "Telemetry", telemetry)));
            }

            //#endif
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
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

    private static InvalidOperationException NotStarted(string name) => new($"{name} was not started: set TestSystemOptions.{name}.");

    private async Task<RunningService> AddAsync(Task<RunningService> starting)
    {
        var service = await starting;
        _services.Add(service);
        return service;
    }

    private async Task<ServiceSetup> SetupAsync(TestSystemOptions options, string name, ServiceSetup setup)
    {
        var database = await TestDatabase.CreateAsync(options.Provider);
        _databases.Add(database);
        var settings = database.Settings(name);
        foreach (var (key, value) in options.Settings.Concat(setup.Settings))
        {
            settings[key] = value;
        }

        return new ServiceSetup
        {
            Transport = setup.Transport,
            Settings = settings,
            Prepare = builder =>
            {
                options.Prepare?.Invoke(builder);
                setup.Prepare?.Invoke(builder);
            },
            Configure = setup.Configure,
            DefaultEndpoints = setup.DefaultEndpoints,
        };
    }

    /// <summary>In memory Inventory has no socket: Orders' client goes through its TestServer (and the test's link).</summary>
    private ServiceSetup LinkedToInventory(ServiceSetup setup, TestSystemOptions options)
    {
        if (Inventory.App.Services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>() is not TestServer server)
        {
            return setup;
        }

        return new ServiceSetup
        {
            Transport = setup.Transport,
            Settings = setup.Settings,
            Prepare = setup.Prepare,
            Configure = builder =>
            {
                setup.Configure?.Invoke(builder);
                builder.Services.AddGrpcClient<InventoryService.InventoryServiceClient>()
                    .ConfigurePrimaryHttpMessageHandler(() => options.InventoryLink?.Invoke(server.CreateHandler()) ?? server.CreateHandler());
            },
            DefaultEndpoints = setup.DefaultEndpoints,
        };
    }
}
