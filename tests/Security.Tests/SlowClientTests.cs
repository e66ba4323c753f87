using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Security.Tests;

/// <summary>The system with a small WatchStock buffer (16 changes), so a stalled watcher overflows within a few dozen changes.</summary>
public sealed class SmallWatchBufferFixture : IAsyncLifetime
{
    public const int WatchBuffer = 16;

    private SecuritySystem? _system;

    public SecuritySystem System => _system ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        _system = await SecuritySystem.StartAsync(settings: new Dictionary<string, string?> { ["Inventory:WatchBufferSize"] = $"{WatchBuffer}" });
        await _system.SeedAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }
    }
}

/// <summary>
/// Very slow clients: request bodies trickled a byte at a time, and server streams whose client never reads (an HTTP/2
/// window that never opens). The services stay responsive for everybody else; what ends the slow ones (the client's
/// deadline, the watch buffer, or nothing) is measured and recorded as it is.
/// </summary>
public class SlowClientTests(SmallWatchBufferFixture fixture) : IClassFixture<SmallWatchBufferFixture>
{
    private const int Tricklers = 10;
    private const string StillTrickling = "still trickling";
    private static readonly TimeSpan ByteInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan BystanderBound = TimeSpan.FromSeconds(5);

    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Theory]
    [InlineData("/inventory.v1.InventoryService/GetItem")]
    //#if (IncludeTelemetry)
    [InlineData("/telemetry.v1.TelemetryIngestService/StreamIngest")]
    //#endif
    public async Task Request_bodies_trickled_a_byte_every_100_ms_are_cut_off_and_others_are_served_meanwhile(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        // The method's valid sample padded with an unknown field to 105 bytes: 10.5 s at one byte per 100 ms.
        var valid = MethodSamples.ByPath[path].Valid[0].ToByteArray();
        var body = H2c.GrpcFrame([.. valid, .. Payloads.UnknownField(100 - valid.Length - 3)]);

        // Watched until the whole body could have gone through, and then some: whether a trickle was cut off is read from
        // the bytes it got to write, not from how long a loaded machine took to notice.
        var watch = (ByteInterval * body.Length) + RawGrpc.CallBound;

        // Each group on its own connection, so what happens to one cannot explain the other.
        using var deadlineConnection = H2c.Client();
        using var noDeadlineConnection = H2c.Client();
        var deadlineBodies = Enumerable.Range(0, Tricklers).Select(_ => new TrickleContent(body, ByteInterval)).ToList();
        var noDeadlineBodies = Enumerable.Range(0, Tricklers).Select(_ => new TrickleContent(body, ByteInterval)).ToList();
        var withDeadline = deadlineBodies.Select(content => TrickleAsync(deadlineConnection, host, path, content, watch, "2S")).ToList();
        var withoutDeadline = noDeadlineBodies.Select(content => TrickleAsync(noDeadlineConnection, host, path, content, watch, null)).ToList();

        // The bystanders go once every trickler has its first byte on the wire.
        await Task.WhenAll(deadlineBodies.Concat(noDeadlineBodies).Select(content => content.FirstByteSent)).WaitAsync(RawGrpc.CallBound, Ct);
        var bystanders = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            bystanders.Add(await BystanderMsAsync());
        }

        var deadlineOutcomes = await Task.WhenAll(withDeadline);
        var noDeadlineOutcomes = await Task.WhenAll(withoutDeadline);
        SecurityFigures.Record($"slow.trickled-request-body {path}", new
        {
            tricklers = Tricklers * 2,
            bodyBytes = body.Length,
            byteIntervalMs = ByteInterval.TotalMilliseconds,
            withGrpcTimeout2S = Summary(deadlineOutcomes),
            withoutDeadlineWatchedForSeconds = watch.TotalSeconds,
            withoutDeadline = Summary(noDeadlineOutcomes),
            bystanderGetItemMs = bystanders,
        });

        // The caller's deadline ends every trickle before its body is through (grpc-dotnet resets the stream, CANCEL, or
        // answers DEADLINE_EXCEEDED).
        Assert.All(deadlineOutcomes, o => Assert.True(o.Outcome != StillTrickling && o.BytesWritten < body.Length, $"{o.Outcome} after {o.BytesWritten} bytes"));
        if (method.IsClientStreaming)
        {
            // A request stream may idle: grpc-dotnet lifts Kestrel's minimum request body data rate for it, so without a
            // deadline nothing on the server ends the trickle. Only the client's deadline (or keep-alive, for a dead peer) does.
            Assert.All(noDeadlineOutcomes, o => Assert.Equal(body.Length, o.BytesWritten));
        }
        else
        {
            // A unary body is held to Kestrel's MinRequestBodyDataRate (240 B/s after a 5 s grace): the whole connection
            // is aborted long before the 10 s the body takes.
            Assert.All(noDeadlineOutcomes, o => Assert.True(o.Outcome != StillTrickling && o.BytesWritten < body.Length, $"{o.Outcome} after {o.BytesWritten} bytes"));
        }

        Assert.All(bystanders, ms => Assert.True(ms >= 0, "A bystander call failed."));
        Assert.True(await System.AllServingAsync());
    }

    [Fact]
    public async Task Watchers_that_never_read_are_cut_from_the_feed_without_slowing_writers_or_other_watchers()
    {
        const int stalled = 20;
        const int withDeadline = 5;
        const int maxChanges = 4_000;
        const string sku = "SEC-2";
        var feed = System.Inventory.Services.GetRequiredService<StockChangeFeed>();
        var baseline = feed.SubscriberCount;
        var memory = new MemorySamples();
        var inventory = new InventoryService.InventoryServiceClient(System.Inventory.Channel);

        // Window 0: the server may send headers but not one byte of DATA on any stream of this connection. Streams
        // 1..39 have no deadline; the last five carry grpc-timeout 3S.
        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, initialWindowSize: 0, cancellationToken: Ct);
        var message = H2c.GrpcFrame(new WatchStockRequest { Skus = { sku } }.ToByteArray());
        for (var i = 0; i < stalled + withDeadline; i++)
        {
            var stream = (2 * i) + 1;
            var extra = i >= stalled ? new[] { ("grpc-timeout", "3S") } : [];
            await connection.SendAsync([.. connection.RequestHeaders(stream, "/inventory.v1.InventoryService/WatchStock", System.Inventory.Token, extra: extra),
                .. RawHttp2Connection.Frame(H2Frame.Data, H2Frame.EndStream, stream, message)], Ct);
        }

        var subscribed = await Eventually.WithinAsync(() => Task.FromResult(feed.SubscriberCount - baseline >= stalled + withDeadline), RawGrpc.CallBound);
        var opened = Stopwatch.StartNew();

        // A well-behaved watcher on its own connection reads everything, while a writer makes changes until the stalled
        // watchers have left the feed: Kestrel buffers up to 64 KB of each stream's response, then the handler blocks,
        // then the watch buffer fills and the feed cuts the subscription off.
        using var watcher = inventory.WatchStock(new WatchStockRequest { Skus = { sku } }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Ct);
        Assert.True(await watcher.ResponseStream.MoveNext(Ct));
        var seen = 0;
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var reading = Task.Run(async () =>
        {
            try
            {
                while (await watcher.ResponseStream.MoveNext(stopReading.Token))
                {
                    Interlocked.Increment(ref seen);
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
        }, Ct);
        var writeMs = new List<long>();
        var changes = 0;
        var stalledInFeed = () => feed.SubscriberCount - baseline - 1; // minus the good watcher
        TimeSpan? deadlineStreamsLeftAt = null;
        while (changes < maxChanges && stalledInFeed() > 0)
        {
            var clock = Stopwatch.StartNew();
            await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "Slow", Available = 500_000 + changes }, deadline: DateTime.UtcNow + BystanderBound, cancellationToken: Ct);
            writeMs.Add(clock.ElapsedMilliseconds);
            changes++;
        }

        var cutOffAfter = opened.Elapsed;
        var stalledAtCutOff = stalledInFeed();
        var watcherCaughtUp = await Eventually.WithinAsync(() => Task.FromResult(Volatile.Read(ref seen) >= changes), RawGrpc.CallBound);
        await stopReading.CancelAsync();
        await reading;
        memory.Sample();

        // What the server sent on the stalled streams: the deadline ones once 3 s passed; the others nothing (they wait for the peer).
        await connection.WaitForAsync(f => Ended(f) >= withDeadline, RawGrpc.CallBound);
        deadlineStreamsLeftAt = opened.Elapsed;
        var frames = connection.Frames.ToList();
        var endedWithDeadline = frames.Where(f => f.StreamId > 2 * stalled && IsEnd(f)).Select(Describe).ToList();
        var endedWithout = frames.Where(f => f.StreamId < 2 * stalled && IsEnd(f)).Select(Describe).ToList();
        var bystanderMs = await BystanderMsAsync();
        memory.Sample();
        SecurityFigures.Record("slow.never-reading-watchers", new
        {
            stalledWatchers = stalled,
            stalledWithGrpcTimeout3S = withDeadline,
            watchBuffer = SmallWatchBufferFixture.WatchBuffer,
            changesUntilEveryStalledWatcherLeftTheFeed = changes,
            secondsUntilCutOff = Math.Round(cutOffAfter.TotalSeconds, 1),
            stalledStillInFeed = stalledAtCutOff,
            goodWatcherSawEveryChange = watcherCaughtUp,
            goodWatcherChanges = seen,
            writerUpsertMs = new { max = writeMs.DefaultIfEmpty().Max(), median = writeMs.Order().ElementAtOrDefault(writeMs.Count / 2) },
            withGrpcTimeout3SEnded = SecurityFigures.ByStatus(endedWithDeadline),
            withoutDeadlineEnded = SecurityFigures.ByStatus(endedWithout),
            secondsObserved = Math.Round(deadlineStreamsLeftAt.Value.TotalSeconds, 1),
            connectionOpen = !connection.Closed.IsCompleted,
            bystanderGetItemMs = bystanderMs,
            memory = memory.Summary(),
        });

        Assert.True(subscribed);
        Assert.Equal(0, stalledAtCutOff);
        Assert.True(watcherCaughtUp, $"The good watcher saw {seen} of {changes} changes.");
        Assert.True(bystanderMs >= 0);
        Assert.Equal(withDeadline, endedWithDeadline.Count);
        Assert.Empty(endedWithout);
        Assert.True(memory.ManagedGrowthMb < 64, $"Managed heap after full GC grew by {memory.ManagedGrowthMb} MB.");
    }

    private static bool IsEnd(H2Frame f) => f.StreamId != 0 && (f.Type == H2Frame.RstStream || (f.Type == H2Frame.Headers && (f.Flags & H2Frame.EndStream) != 0));

    private static int Ended(IEnumerable<H2Frame> frames) => frames.Where(IsEnd).Select(f => f.StreamId).Distinct().Count();

    private static string Describe(H2Frame f) => f.Type == H2Frame.RstStream ? $"RST_STREAM {H2Frame.ErrorName(f.ErrorCode)}" : "trailers";

    private static async Task<TrickleOutcome> TrickleAsync(
        HttpClient http, TestSupport.RunningService host, string path, TrickleContent content, TimeSpan watch, string? grpcTimeout)
    {
        using var owned = content;
        var (status, message, elapsed, hung, streaming) = await H2c.CallAsync(
            http, host.Address, path, host.Token, content, watch, grpcTimeout is null ? [] : [("grpc-timeout", grpcTimeout)], Ct);
        var outcome = hung ? StillTrickling : streaming ? "response started, not ended" : status is { } s ? ((StatusCode)s).ToString() : message;
        return new TrickleOutcome(outcome, elapsed, content.BytesWritten);
    }

    private static object Summary(TrickleOutcome[] outcomes) => new
    {
        outcomes = SecurityFigures.ByStatus(outcomes.Select(o => o.Outcome)),
        secondsMin = Math.Round(outcomes.Min(o => o.Elapsed.TotalSeconds), 2),
        secondsMax = Math.Round(outcomes.Max(o => o.Elapsed.TotalSeconds), 2),
        bytesWrittenMax = outcomes.Max(o => o.BytesWritten),
    };

    public sealed record TrickleOutcome(string Outcome, TimeSpan Elapsed, int BytesWritten);

    /// <summary>A GetItem and a health check on a fresh connection; the milliseconds both took, -1 on failure.</summary>
    private async Task<long> BystanderMsAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var channel = SecuritySystem.SingleConnectionChannel(System.Inventory, System.Inventory.Token!);
            await new InventoryService.InventoryServiceClient(channel).GetItemAsync(
                new GetItemRequest { Sku = "SEC-1" }, deadline: DateTime.UtcNow + BystanderBound, cancellationToken: Ct);
            await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(
                new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow + BystanderBound, cancellationToken: Ct);
            return clock.ElapsedMilliseconds;
        }
        catch (RpcException)
        {
            return -1;
        }
    }

    /// <summary>A request body written one byte at a time, flushed, with a pause between bytes.</summary>
    private sealed class TrickleContent(byte[] body, TimeSpan interval) : HttpContent
    {
        private readonly TaskCompletionSource _firstByteSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _written;

        public int BytesWritten => Volatile.Read(ref _written);

        public Task FirstByteSent => _firstByteSent.Task;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var i = 0; i < body.Length; i++)
            {
                await stream.WriteAsync(body.AsMemory(i, 1), cancellationToken);
                await stream.FlushAsync(cancellationToken);
                Interlocked.Increment(ref _written);
                _firstByteSent.TrySetResult();
                await Task.Delay(interval, cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
