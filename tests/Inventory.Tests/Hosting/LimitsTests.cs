using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Inventory.Tests.Hosting;

/// <summary>Message size caps (Grpc:MaxMessageSize) and Kestrel's HTTP/2 limits (Kestrel:Limits).</summary>
public class LimitsTests
{
    [Fact]
    public async Task A_request_larger_than_Grpc_MaxMessageSize_is_RESOURCE_EXHAUSTED()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await LifetimeHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Inventory")) { ["Grpc:MaxMessageSize"] = "1024" });

        var upsert = new UpsertItemRequest { Sku = "KB-001", Name = new string('k', 2048), Available = 1 };

        await RpcAssert.ThrowsAsync(StatusCode.ResourceExhausted, () => host.Client.UpsertItemAsync(upsert, cancellationToken: LifetimeHost.Ct).ResponseAsync);
    }

    [Fact]
    public async Task A_response_larger_than_Grpc_MaxMessageSize_is_RESOURCE_EXHAUSTED()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await LifetimeHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Inventory")) { ["Grpc:MaxMessageSize"] = "1024" });
        for (var i = 0; i < 10; i++)
        {
            await host.Client.UpsertItemAsync(
                new UpsertItemRequest { Sku = $"KB-{i:000}", Name = new string('k', 150), Available = 1 }, cancellationToken: LifetimeHost.Ct);
        }

        await RpcAssert.ThrowsAsync(StatusCode.ResourceExhausted,
            () => host.Client.ListItemsAsync(new ListItemsRequest { PageSize = 10 }, cancellationToken: LifetimeHost.Ct).ResponseAsync);
    }

    [Fact]
    public async Task Calls_beyond_MaxStreamsPerConnection_wait_for_a_free_stream_and_the_server_keeps_serving()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await LifetimeHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Inventory")) { ["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = "2" });
        await host.Client.UpsertItemAsync(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 3 }, cancellationToken: LifetimeHost.Ct);

        // One connection only (GrpcChannel would otherwise open more when the server's stream limit is reached).
        using var channel = BearerChannel.ForAddress(host.Service.Address, host.Service.Token!, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
        });
        var client = new InventoryService.InventoryServiceClient(channel);

        // A burst on a new connection can exceed the limit before the client has the server's SETTINGS.
        var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: LifetimeHost.Ct).ResponseAsync));

        using var first = client.WatchStock(new WatchStockRequest(), cancellationToken: LifetimeHost.Ct);
        using var second = client.WatchStock(new WatchStockRequest(), cancellationToken: LifetimeHost.Ct);
        Assert.True(await first.ResponseStream.MoveNext(LifetimeHost.Ct));
        Assert.True(await second.ResponseStream.MoveNext(LifetimeHost.Ct));
        var queued = client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: LifetimeHost.Ct);
        var waited = await Assert.ThrowsAsync<RpcException>(() => queued.ResponseAsync);
        first.Dispose();
        var afterAStreamEnded = await client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: LifetimeHost.Ct);

        Assert.All(burst, reply => Assert.Equal("KB-001", reply.Item.Sku));
        Assert.Equal(StatusCode.DeadlineExceeded, waited.StatusCode);
        Assert.Equal("KB-001", afterAStreamEnded.Item.Sku);
    }
}
