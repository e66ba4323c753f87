using System.Diagnostics;
using System.Globalization;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Far more concurrent streams on one connection than Kestrel's Http2.MaxStreamsPerConnection (100): through the .NET
/// client (which queues the excess) and by hand on raw frames (which ignores the limit). The server never holds more
/// than the limit for that connection, refuses the rest, another client on another connection is served promptly, and
/// memory stays bounded. (ServiceDefaults.Tests' LimitsTests shows the queueing with a limit of 2; this goes to 10x the real one.)
/// </summary>
public class StreamFloodTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private const int Streams = 1_000;
    private const int Limit = 100;

    /// <summary>Any one answer to the bystander; the point is "promptly", so this bounds it, generously for a loaded 2-core box.</summary>
    private static readonly TimeSpan BystanderBound = TimeSpan.FromSeconds(5);

    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    private StockChangeFeed Feed => System.Inventory.Services.GetRequiredService<StockChangeFeed>();

    [Fact]
    public async Task A_thousand_WatchStock_calls_on_one_client_connection_get_100_streams_the_rest_wait_and_others_are_served()
    {
        var baseline = Feed.SubscriberCount;
        var memory = new MemorySamples();
        using var channel = SecuritySystem.SingleConnectionChannel(System.Inventory, System.Inventory.Token!);
        var client = new InventoryService.InventoryServiceClient(channel);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var clock = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, Streams)
            .Select(_ => client.WatchStock(new WatchStockRequest { Skus = { "SEC-1" } }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: stop.Token))
            .ToList();
        var first = calls.Select(c => FirstMessageAsync(c, stop.Token)).ToList();

        var opened = await Eventually.WithinAsync(() => Task.FromResult(first.Count(t => t.IsCompletedSuccessfully && t.Result) >= Limit), TimeSpan.FromSeconds(10));
        var openAfterSettling = first.Count(t => t.IsCompletedSuccessfully && t.Result);
        var serverStreams = Feed.SubscriberCount - baseline;
        memory.Sample();
        var bystander = await BystanderAsync();
        var sameConnectionQueued = first.Count(t => !t.IsCompleted);
        // Refused before the client had the server's SETTINGS (a burst on a new connection): failed, not queued.
        var refusedEarly = first.Count(t => t.IsFaulted);

        // Cancel everything: queued calls never got a stream and end client-side; the server's streams end.
        await stop.CancelAsync();
        var ended = await Task.WhenAll(first.Select(EndOf));
        foreach (var call in calls)
        {
            call.Dispose();
        }

        var drained = await Eventually.WithinAsync(() => Task.FromResult(Feed.SubscriberCount == baseline), TimeSpan.FromSeconds(10));
        using var after = SecuritySystem.SingleConnectionChannel(System.Inventory, System.Inventory.Token!);
        var reused = await new InventoryService.InventoryServiceClient(channel).GetItemAsync(new GetItemRequest { Sku = "SEC-1" }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);
        memory.Sample();
        SecurityFigures.Record("flood.client-1000-watchstock", new
        {
            calls = Streams,
            openStreams = openAfterSettling,
            serverSubscribers = serverStreams,
            queuedOnTheConnection = sameConnectionQueued,
            failedBeforeSettings = refusedEarly,
            secondsToOpen = Math.Round(clock.Elapsed.TotalSeconds, 1),
            bystander,
            endedAfterCancel = SecurityFigures.ByStatus(ended),
            serverSubscribersBackToBaseline = drained,
            memory = memory.Summary(),
        });

        Assert.True(opened, $"Only {openAfterSettling} streams opened.");
        Assert.Equal(Limit, openAfterSettling);
        Assert.InRange(serverStreams, 1, Limit);
        Assert.Equal(Streams - Limit, sameConnectionQueued + refusedEarly);
        Assert.True(bystander.Served, bystander.Detail);
        Assert.True(drained, $"{Feed.SubscriberCount - baseline} server streams still open after every call was cancelled.");
        Assert.Equal("SEC-1", reused.Item.Sku);
        Assert.True(memory.ManagedGrowthMb < 64, $"Managed heap after full GC grew by {memory.ManagedGrowthMb} MB.");
    }

    [Theory]
    [InlineData(150)]
    [InlineData(Streams)]
    public async Task Streams_opened_on_raw_frames_ignoring_SETTINGS_are_refused_beyond_100_and_others_are_served(int streams)
    {
        var baseline = Feed.SubscriberCount;
        var memory = new MemorySamples();
        const string path = "/inventory.v1.InventoryService/WatchStock";
        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, cancellationToken: Ct);
        var settings = await connection.WaitForAsync(f => f.Any(x => x.Type == H2Frame.Settings && (x.Flags & H2Frame.Ack) == 0), TimeSpan.FromSeconds(10));
        var message = H2c.GrpcFrame(new WatchStockRequest { Skus = { "SEC-1" } }.ToByteArray());
        var clock = Stopwatch.StartNew();
        var sent = 0;
        for (var i = 0; i < streams; i++)
        {
            var stream = (2 * i) + 1;
            if (!await connection.TrySendAsync(
                [.. connection.RequestHeaders(stream, path, System.Inventory.Token), .. RawHttp2Connection.Frame(H2Frame.Data, H2Frame.EndStream, stream, message)], Ct))
            {
                break;
            }

            sent++;
        }

        var sendSeconds = clock.Elapsed.TotalSeconds;
        // Settled: every stream answered (response HEADERS or RST_STREAM), or the connection is gone.
        await connection.WaitForAsync(f => Answered(f) >= sent, TimeSpan.FromSeconds(10));
        var frames = connection.Frames.ToList();
        var accepted = frames.Where(f => f.Type == H2Frame.Headers).Select(f => f.StreamId).Distinct().Count();
        var resets = frames.Where(f => f.Type == H2Frame.RstStream).GroupBy(f => H2Frame.ErrorName(f.ErrorCode)).ToDictionary(g => g.Key, g => g.Count());
        var goAway = frames.FirstOrDefault(f => f.Type == H2Frame.GoAway);
        var serverStreams = Feed.SubscriberCount - baseline;
        memory.Sample();
        var bystander = await BystanderAsync();
        var stillOpen = !connection.Closed.IsCompleted;
        var closedHow = stillOpen ? "no" : $"{await connection.Closed} after {connection.ClosedAfter!.Value.TotalMilliseconds:0} ms";

        await connection.DisposeAsync();
        var drained = await Eventually.WithinAsync(() => Task.FromResult(Feed.SubscriberCount == baseline), TimeSpan.FromSeconds(10));
        memory.Sample();
        SecurityFigures.Record($"flood.raw-{streams}-streams", new
        {
            streamsSent = sent,
            sendSeconds = Math.Round(sendSeconds, 2),
            serverSettingsSeen = settings,
            acceptedStreams = accepted,
            serverSubscribers = serverStreams,
            resets,
            goAway = goAway is null ? "none" : H2Frame.ErrorName(goAway.ErrorCode),
            connectionOpenAfterFlood = stillOpen,
            connectionClosed = closedHow,
            framesReceived = frames.GroupBy(f => f.Type).ToDictionary(g => g.Key.ToString(CultureInfo.InvariantCulture), g => g.Count()),
            bystander,
            serverSubscribersBackToBaselineAfterClose = drained,
            memory = memory.Summary(),
        });

        Assert.True(settings);
        Assert.InRange(accepted, 0, Limit);
        Assert.InRange(serverStreams, 0, Limit);
        // Either each excess stream is refused (REFUSED_STREAM, 150 streams), or Kestrel gives up on the whole connection
        // (1,000 streams: "HTTP/2 connection exceeded the output operations maximum queue size", a TCP reset).
        if (stillOpen)
        {
            Assert.Equal(Limit, accepted);
            Assert.Equal(sent - Limit, resets.GetValueOrDefault("REFUSED_STREAM"));
        }
        Assert.True(bystander.Served, bystander.Detail);
        Assert.True(drained, $"{Feed.SubscriberCount - baseline} server streams left after the flooding connection closed.");
        Assert.True(memory.ManagedGrowthMb < 64, $"Managed heap after full GC grew by {memory.ManagedGrowthMb} MB.");
    }

    private static int Answered(IEnumerable<H2Frame> frames) =>
        frames.Where(f => f.StreamId != 0 && f.Type is H2Frame.Headers or H2Frame.RstStream).Select(f => f.StreamId).Distinct().Count();

    /// <summary>Another client on its own connection: a unary call and a health check, each within <see cref="BystanderBound"/>.</summary>
    private async Task<Bystander> BystanderAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var channel = SecuritySystem.SingleConnectionChannel(System.Inventory, System.Inventory.Token!);
            var item = await new InventoryService.InventoryServiceClient(channel).GetItemAsync(
                new GetItemRequest { Sku = "SEC-1" }, deadline: DateTime.UtcNow + BystanderBound, cancellationToken: Ct);
            var getItemMs = clock.ElapsedMilliseconds;
            var health = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(
                new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow + BystanderBound, cancellationToken: Ct);
            return new Bystander(item.Item.Sku == "SEC-1" && health.Status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving,
                getItemMs, clock.ElapsedMilliseconds, "OK");
        }
        catch (RpcException ex)
        {
            return new Bystander(false, clock.ElapsedMilliseconds, clock.ElapsedMilliseconds, $"{ex.StatusCode}: {ex.Status.Detail}");
        }
    }

    public sealed record Bystander(bool Served, long GetItemMs, long GetItemAndHealthMs, string Detail);

    private static async Task<bool> FirstMessageAsync(AsyncServerStreamingCall<WatchStockResponse> call, CancellationToken cancellationToken) =>
        await call.ResponseStream.MoveNext(cancellationToken);

    private static async Task<StatusCode> EndOf(Task<bool> first)
    {
        try
        {
            await first;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
        catch (OperationCanceledException)
        {
            return StatusCode.Cancelled;
        }
    }
}
