using System.Net;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;

using static Grpc.Health.V1.HealthCheckResponse.Types;

using HealthEndpoints = Contoso.Retail.ServiceDefaults.Health;

namespace Contoso.Retail.Inventory.Tests.Hosting;

/// <summary>Stopping (SIGTERM reaches the host as StopAsync): readiness first, then Kestrel, in-flight calls finish.</summary>
public class ShutdownTests
{
    [Fact]
    public async Task A_unary_call_in_flight_when_the_service_stops_completes_OK_while_new_connections_are_refused()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var hold = new HoldGetItem();
        await using var host = await LifetimeHost.StartAsync(db.Settings("Inventory"), builder => HoldGetItem.AddTo(builder, hold));
        await host.Client.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 3 }, cancellationToken: LifetimeHost.Ct);
        using var inFlight = host.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: LifetimeHost.Ct);
        await hold.Entered.WaitAsync(LifetimeHost.Ct);

        var stopping = host.Service.App.StopAsync(LifetimeHost.Ct);
        await Eventually.HoldsAsync(host.RefusesConnectionsAsync, "Kestrel to stop accepting connections", TimeSpan.FromSeconds(30));
        hold.Release();
        var item = await inFlight;
        await stopping;

        Assert.Equal(("KB-001", 3), (item.Item.Sku, item.Item.Available));
    }

    [Fact]
    public async Task During_the_drain_readiness_is_NOT_SERVING_and_calls_are_still_served()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await LifetimeHost.StartAsync(new Dictionary<string, string?>(db.Settings("Inventory"))
        {
            ["Shutdown:DrainDelay"] = "00:10:00",
            ["Shutdown:Timeout"] = "00:15:00",
        });
        await host.Client.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 3 }, cancellationToken: LifetimeHost.Ct);
        using var watch = host.Health.Watch(new HealthCheckRequest(), cancellationToken: LifetimeHost.Ct);
        await LifetimeHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.Serving);
        using var endDrain = CancellationTokenSource.CreateLinkedTokenSource(LifetimeHost.Ct);

        var stopping = host.Service.App.StopAsync(endDrain.Token);
        await LifetimeHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.NotServing);
        var ready = (await host.CheckAsync(), await host.CheckAsync("inventory.v1.InventoryService"), await host.GetStatusAsync(HealthEndpoints.ReadyPath));
        var live = (await host.CheckAsync(HealthEndpoints.LivenessService), await host.GetStatusAsync(HealthEndpoints.LivePath));
        var served = await host.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: LifetimeHost.Ct);
        await endDrain.CancelAsync();
        await stopping;

        Assert.Equal((ServingStatus.NotServing, ServingStatus.NotServing, HttpStatusCode.ServiceUnavailable), ready);
        Assert.Equal((ServingStatus.Serving, HttpStatusCode.OK), live);
        Assert.Equal("KB-001", served.Item.Sku);
    }

    [Fact]
    public async Task A_call_still_running_at_Shutdown_Timeout_is_cut_off_so_the_stop_completes()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var hold = new HoldGetItem();
        await using var host = await LifetimeHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Inventory")) { ["Shutdown:Timeout"] = "00:00:01" },
            builder => HoldGetItem.AddTo(builder, hold));
        using var stuck = host.Client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: LifetimeHost.Ct);
        await hold.Entered.WaitAsync(LifetimeHost.Ct);

        // Far longer than Shutdown:Timeout, far shorter than the framework's 30 s default.
        await host.Service.App.StopAsync(LifetimeHost.Ct).WaitAsync(TimeSpan.FromSeconds(20), LifetimeHost.Ct);
        var cutOff = await Assert.ThrowsAsync<RpcException>(() => stuck.ResponseAsync);

        Assert.NotEqual(StatusCode.OK, cutOff.StatusCode);
    }
}
