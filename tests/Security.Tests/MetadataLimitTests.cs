using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Oversized and numerous request metadata: RESOURCE_EXHAUSTED naming the limits up to Kestrel's hard limits, a client
/// refusal or a closed connection beyond them; the offending connection and every other client keep being served.
/// </summary>
public class MetadataLimitTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private static CancellationToken Ct => SecuritySystem.Ct;

    [Theory]
    [InlineData(1, 40 * 1024)] // one entry over the 32 KB total
    [InlineData(4, 10 * 1024)] // several entries, 40 KB in all
    [InlineData(150, 10)] // over the 100 entries, a few bytes each
    [InlineData(1_000, 10)] // far over the entries, still within Kestrel's own limits
    public async Task Metadata_over_the_limits_is_RESOURCE_EXHAUSTED_and_the_connection_keeps_serving(int entries, int valueSize)
    {
        var host = fixture.System.Inventory;
        using var channel = host.CreateChannel(host.Token);
        var client = new InventoryService.InventoryServiceClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => ListItemsAsync(client, Padding(entries, valueSize)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains($"the limit is {MetadataLimits.DefaultMaxSize} bytes and {MetadataLimits.DefaultMaxEntries} entries", error.Status.Detail, StringComparison.Ordinal);
        await ListItemsAsync(client, []);
    }

    [Fact]
    public async Task Metadata_within_the_limits_is_served()
    {
        var host = fixture.System.Inventory;
        var client = new InventoryService.InventoryServiceClient(host.Channel);

        await ListItemsAsync(client, Padding(MetadataLimits.DefaultMaxEntries - 10, 200));
        await ListItemsAsync(client, Padding(1, 24 * 1024));
    }

    [Fact]
    public async Task Metadata_past_what_the_server_advertises_fails_that_client_alone_while_others_are_served()
    {
        var host = fixture.System.Inventory;
        var bystander = new InventoryService.InventoryServiceClient(host.Channel);
        using var ownChannel = host.CreateChannel(host.Token);
        var offender = new InventoryService.InventoryServiceClient(ownChannel);

        // 200 KB: past the 64 KB the server advertises (.NET's client refuses to send it once it has the server's
        // SETTINGS) and past twice that (Kestrel closes a connection that sends it anyway, e.g. before SETTINGS arrive):
        // the call fails on the caller's side, INTERNAL or UNAVAILABLE, with no status from the service.
        var refused = Enumerable.Range(0, 20).Select(_ => Assert.ThrowsAsync<RpcException>(() => ListItemsAsync(offender, Padding(20, 10 * 1024))));
        var served = Enumerable.Range(0, 20).Select(_ => ListItemsAsync(bystander, []));
        var errors = await Task.WhenAll(refused);
        await Task.WhenAll(served);

        Assert.All(errors, e => Assert.Contains(e.StatusCode, new[] { StatusCode.Internal, StatusCode.Unavailable }));
        Assert.True(await fixture.System.AllServingAsync());
    }

    private static Task<ListItemsResponse> ListItemsAsync(InventoryService.InventoryServiceClient client, Metadata headers) =>
        client.ListItemsAsync(new ListItemsRequest(), headers, DateTime.UtcNow.AddSeconds(30), Ct).ResponseAsync;

    private static Metadata Padding(int entries, int valueSize)
    {
        var headers = new Metadata();
        for (var i = 0; i < entries; i++)
        {
            headers.Add($"x-pad-{i}", new string('a', valueSize));
        }

        return headers;
    }
}
