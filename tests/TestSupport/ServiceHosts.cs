using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
//#if (IncludeTelemetry)
using Contoso.Retail.TelemetryIngest;
//#endif

using Grpc.AspNetCore.Server;
using Grpc.Core.Interceptors;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TestSupport;

/// <summary>How one service is started for a test: its transport, settings and hooks into its builder.</summary>
public sealed class ServiceSetup
{
    public Transport Transport { get; init; } = Transport.Kestrel;

    /// <summary>Layered over the harness defaults (quiet logs; Orders' reconcile loop out of the way).</summary>
    public Dictionary<string, string?> Settings { get; init; } = [];

    /// <summary>Runs before AddServiceDefaults (environment, test interceptors every service gets).</summary>
    public Action<WebApplicationBuilder>? Prepare { get; init; }

    /// <summary>Runs after the service is added (an interceptor, a replaced client handler).</summary>
    public Action<WebApplicationBuilder>? Configure { get; init; }

    /// <summary>Map health, reflection and gRPC-Web as Program.cs does.</summary>
    public bool DefaultEndpoints { get; init; } = true;
}

/// <summary>The services started the way Program.cs starts them, one at a time; <see cref="TestSystem"/> starts several.</summary>
public static class ServiceHosts
{
    /// <summary>Where Orders (or any server-to-server client) finds Inventory.</summary>
    public const string InventoryAddressKey = "Services:Inventory";

    public static Task<RunningService> StartInventoryAsync(ServiceSetup setup) =>
        StartAsync(setup, [], builder => builder.AddInventory(), app => app.MapInventoryAsync());

    /// <param name="inventory">Inventory's address: an http URL, or a dns:/// or static:/// target.</param>
    public static Task<RunningService> StartOrdersAsync(ServiceSetup setup, string inventory) =>
        StartAsync(
            setup,
            new() { [InventoryAddressKey] = inventory, ["Orders:ReconcileInterval"] = "01:00:00" },
            builder => builder.AddOrders(),
            app => app.MapOrdersAsync());

    //#if (IncludeTelemetry)
    public static Task<RunningService> StartTelemetryAsync(ServiceSetup setup) =>
        StartAsync(setup, [], builder => builder.AddTelemetryIngest(), app => app.MapTelemetryIngestAsync());

    //#endif
    /// <summary>
    /// Any service, started as Program.cs starts one: AddServiceDefaults, <paramref name="add"/>, MapDefaultEndpoints,
    /// <paramref name="map"/>.
    /// </summary>
    public static Task<RunningService> StartServiceAsync(ServiceSetup setup, Action<WebApplicationBuilder> add, Func<WebApplication, Task> map) =>
        StartAsync(setup, [], add, map);

    /// <summary>Adds <paramref name="interceptor"/> (this instance) to the service's gRPC pipeline.</summary>
    public static void AddServerInterceptor(this WebApplicationBuilder builder, Interceptor interceptor)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(interceptor);
        builder.Services.AddSingleton(interceptor.GetType(), interceptor);
        builder.Services.Configure<GrpcServiceOptions>(options => options.Interceptors.Add(interceptor.GetType()));
    }

    private static Task<RunningService> StartAsync(
        ServiceSetup setup, Dictionary<string, string?> defaults, Action<WebApplicationBuilder> add, Func<WebApplication, Task> start)
    {
        var settings = new Dictionary<string, string?>(defaults) { ["Serilog:MinimumLevel:Default"] = "Warning" };
        foreach (var (key, value) in setup.Settings)
        {
            settings[key] = value;
        }

        return RunningService.StartAsync(
            setup.Transport,
            settings,
            builder =>
            {
                setup.Prepare?.Invoke(builder);
                add(builder.AddServiceDefaults());
                setup.Configure?.Invoke(builder);
            },
            async app =>
            {
                if (setup.DefaultEndpoints)
                {
                    app.MapDefaultEndpoints();
                }

                await start(app);
            });
    }
}
