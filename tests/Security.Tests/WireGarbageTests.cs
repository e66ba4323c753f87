using System.Diagnostics;
using System.IO.Compression;
using System.Text;

using Contoso.Retail.Contracts.Inventory.V1;

using Google.Protobuf;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Garbage on the wire, below gRPC: bytes that are not HTTP/2 at all, broken HTTP/2 frames after a valid handshake,
/// and valid HTTP/2 requests whose gRPC message framing lies. Connections die cleanly, requests get a gRPC status,
/// nothing hangs, and the services keep serving everybody else.
/// </summary>
public class WireGarbageTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    /// <summary>The server must have closed a broken connection by then (it does so at once; this only bounds a failure).</summary>
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(10);

    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    public static TheoryData<string> NotHttp2 => ["64 KiB random bytes", "HTTP/1.1 request", "TLS ClientHello", "preface with a typo"];

    [Theory]
    [MemberData(nameof(NotHttp2))]
    public async Task Bytes_that_are_not_an_HTTP2_preface_get_the_connection_closed_and_the_service_keeps_serving(string kind)
    {
        var random = new Random(kind.Length);
        var bytes = kind switch
        {
            "64 KiB random bytes" => RandomBytes(random, 64 * 1024),
            "HTTP/1.1 request" => Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {System.Inventory.Address.Authority}\r\n\r\n"),
            // A TLS 1.2 record header announcing a ClientHello, then noise: a client that thinks the port speaks TLS.
            "TLS ClientHello" => [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, .. RandomBytes(random, 500)],
            _ => [.. "PRI * HTTP/2.0\r\n\r\nXM\r\n\r\n"u8.ToArray(), .. RawHttp2Connection.Frame(H2Frame.Settings, 0, 0, [])],
        };

        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, handshake: false, cancellationToken: Ct);
        var sent = await connection.TrySendAsync(bytes, Ct);
        var closed = await Task.WhenAny(connection.Closed, Task.Delay(CloseBound, Ct)) == connection.Closed;
        var goAway = connection.Frames.FirstOrDefault(f => f.Type == H2Frame.GoAway);
        SecurityFigures.Tally("wire.not-http2", kind, closed
            ? $"closed ({await connection.Closed}) after {connection.ClosedAfter!.Value.TotalMilliseconds:0} ms; received {connection.BytesReceived} B{Answer(connection, goAway)}"
            : "OPEN");

        Assert.True(closed, $"{kind}: the connection was still open after {CloseBound}.");
        Assert.True(await System.AllServingAsync());
        Assert.Equal("SEC-1", (await System.ItemAsync("SEC-1")).Sku);
        _ = sent;
    }

    [Fact]
    public async Task Random_bytes_without_a_line_end_are_held_open_while_Kestrel_waits_for_more_and_others_are_still_served()
    {
        // Kestrel first looks for an HTTP/1.x request line (to say "HTTP/1.x request sent to HTTP/2 only endpoint"), so
        // 24 random bytes with no line feed are not yet an error: it waits for more. Only its connection timeouts end it.
        var bytes = RandomBytes(new Random(24), 24).Select(b => b == (byte)'\n' ? (byte)'x' : b).ToArray();
        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, handshake: false, cancellationToken: Ct);

        await connection.SendAsync(bytes, Ct);
        var closed = await Task.WhenAny(connection.Closed, Task.Delay(TimeSpan.FromSeconds(2), Ct)) == connection.Closed;
        var clock = Stopwatch.StartNew();
        var served = await System.AllServingAsync();
        SecurityFigures.Tally("wire.not-http2", "24 random bytes, no line feed", closed ? $"closed ({await connection.Closed})" : $"still open after 2 s; health of every service meanwhile in {clock.ElapsedMilliseconds} ms");

        Assert.True(served);
    }

    public static TheoryData<string> BrokenFrames =>
    [
        "1 KiB random bytes", "DATA on stream 0", "HEADERS with a garbage HPACK block", "frame longer than SETTINGS_MAX_FRAME_SIZE",
        "WINDOW_UPDATE of 0", "SETTINGS of 5 bytes", "HEADERS on an even stream id", "CONTINUATION without HEADERS",
    ];

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task Broken_frames_after_a_valid_handshake_get_GOAWAY_and_the_connection_closed(string kind)
    {
        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, cancellationToken: Ct);
        var hpackGarbage = RandomBytes(new Random(7), 64);
        hpackGarbage[0] = 0xff; // an indexed header field with an index far beyond any table
        var bytes = kind switch
        {
            "1 KiB random bytes" => RandomBytes(new Random(1), 1024),
            "DATA on stream 0" => RawHttp2Connection.Frame(H2Frame.Data, 0, 0, [1, 2, 3]),
            "HEADERS with a garbage HPACK block" => RawHttp2Connection.Frame(H2Frame.Headers, H2Frame.EndHeaders, 1, hpackGarbage),
            // The header announces 16 MiB - 1; Kestrel's SETTINGS_MAX_FRAME_SIZE is 16 KiB.
            "frame longer than SETTINGS_MAX_FRAME_SIZE" => [0xff, 0xff, 0xff, H2Frame.Data, 0, 0, 0, 0, 1, .. new byte[1024]],
            "WINDOW_UPDATE of 0" => RawHttp2Connection.Frame(H2Frame.WindowUpdate, 0, 0, [0, 0, 0, 0]),
            "SETTINGS of 5 bytes" => RawHttp2Connection.Frame(H2Frame.Settings, 0, 0, [0, 4, 0, 0, 1]),
            "HEADERS on an even stream id" => connection.RequestHeaders(2, "/inventory.v1.InventoryService/GetItem", System.Inventory.Token, endStream: true),
            _ => RawHttp2Connection.Frame(9, H2Frame.EndHeaders, 1, RawHttp2Connection.Hpack([("x", "y")])),
        };

        await connection.TrySendAsync(bytes, Ct);
        var closed = await Task.WhenAny(connection.Closed, Task.Delay(CloseBound, Ct)) == connection.Closed;
        var goAway = connection.Frames.FirstOrDefault(f => f.Type == H2Frame.GoAway);
        SecurityFigures.Tally("wire.broken-frames", kind, closed
            ? $"GOAWAY {(goAway is null ? "none" : H2Frame.ErrorName(goAway.ErrorCode))}, closed ({await connection.Closed}) after {connection.ClosedAfter!.Value.TotalMilliseconds:0} ms"
            : "OPEN");

        Assert.True(closed, $"{kind}: the connection was still open after {CloseBound}.");
        Assert.NotNull(goAway);
        Assert.NotEqual(0u, goAway.ErrorCode);
        Assert.True(await System.AllServingAsync());
    }

    [Fact]
    public async Task A_frame_of_an_unknown_type_is_ignored_as_HTTP2_requires_and_the_connection_keeps_working()
    {
        await using var connection = await RawHttp2Connection.OpenAsync(System.Inventory.Address, cancellationToken: Ct);

        await connection.SendAsync(RawHttp2Connection.Frame(0xfa, 0xff, 0, RandomBytes(new Random(3), 100)), Ct);
        await connection.SendAsync(RawHttp2Connection.Frame(H2Frame.Ping, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]), Ct);
        var pong = await connection.WaitForAsync(frames => frames.Any(f => f.Type == H2Frame.Ping && (f.Flags & H2Frame.Ack) != 0), CloseBound);
        var request = new GetItemRequest { Sku = "SEC-1" }.ToByteArray();
        await connection.SendAsync([.. connection.RequestHeaders(1, "/inventory.v1.InventoryService/GetItem", System.Inventory.Token),
            .. RawHttp2Connection.Frame(H2Frame.Data, H2Frame.EndStream, 1, H2c.GrpcFrame(request))], Ct);
        var answered = await connection.WaitForAsync(frames => frames.Any(f => f.StreamId == 1 && (f.Flags & H2Frame.EndStream) != 0), CloseBound);
        SecurityFigures.Tally("wire.broken-frames", "unknown frame type 0xfa", pong && answered ? "ignored; PING answered and a GetItem served on the same connection" : "NOT IGNORED");

        Assert.True(pong);
        Assert.True(answered);
        Assert.False(connection.Closed.IsCompleted);
    }

    public static TheoryData<string, string> BadGrpcFraming()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in RawGrpc.AllMethodPaths())
        {
            foreach (var kind in new[]
            {
                "compressed flag 1 without grpc-encoding", "compressed flag 1 with gzip and a body that is not gzip", "compressed flag 2",
                "compressed flag 2 on a second message", "length prefix beyond the body", "length prefix over Grpc:MaxMessageSize", "frame header cut at 3 bytes", "empty body",
            })
            {
                data.Add((string)path.Data, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadGrpcFraming))]
    public async Task An_HTTP2_request_with_lying_gRPC_framing_gets_a_gRPC_status_and_never_hangs(string path, string kind)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        var valid = MethodSamples.ByPath[path].Valid[0].ToByteArray();
        List<(string, string)> headers = [];
        var body = kind switch
        {
            "compressed flag 1 without grpc-encoding" => H2c.GrpcFrame(valid, compressedFlag: 1),
            "compressed flag 2" => H2c.GrpcFrame(valid, compressedFlag: 2),
            "compressed flag 2 on a second message" => [.. H2c.GrpcFrame(valid), .. H2c.GrpcFrame(valid, compressedFlag: 2)],
            "length prefix beyond the body" => H2c.GrpcFrame(valid, declaredLength: (uint)valid.Length + 100),
            "length prefix over Grpc:MaxMessageSize" => H2c.GrpcFrame(valid, declaredLength: (uint)ServiceDefaults.GrpcServer.DefaultMaxMessageSize + 1),
            "frame header cut at 3 bytes" => H2c.GrpcFrame(valid)[..3],
            "empty body" => [],
            _ => H2c.GrpcFrame(RandomBytes(new Random(5), 64), compressedFlag: 1),
        };
        if (kind.Contains("gzip", StringComparison.Ordinal))
        {
            headers.Add(("grpc-encoding", "gzip"));
        }

        using var http = H2c.Client();
        using var content = new ByteArrayContent(body);
        var (status, message, elapsed, hung, streaming) = await H2c.CallAsync(http, host.Address, path, host.Token, content, RawGrpc.CallBound, headers, Ct);
        var outcome = hung ? "HUNG" : streaming ? "STILL STREAMING" : status is { } s ? ((StatusCode)s).ToString() : message;
        SecurityFigures.Tally("wire.bad-grpc-framing", kind, outcome);
        TestContext.Current.TestOutputHelper?.WriteLine($"{path} / {kind}: {outcome} \"{message}\" in {elapsed.TotalMilliseconds:0} ms");

        Assert.False(hung || streaming, $"{outcome} after {elapsed}.");
        Assert.NotNull(status);
        Assert.Equal(Expected(kind, method), (StatusCode)status.Value);
        if (status == (int)StatusCode.InvalidArgument)
        {
            Assert.Equal(ServiceDefaults.UnparseableRequests.MessageFor(path), message);
        }
    }

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task A_well_formed_gzip_compressed_request_is_read_like_an_uncompressed_one(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        var sample = MethodSamples.ByPath[path];
        // Every message compressed and flagged, as a client sending grpc-encoding: gzip frames them.
        byte[] body = [.. sample.Valid.SelectMany(m => H2c.GrpcFrame(Gzip(m.ToByteArray()), compressedFlag: 1))];

        using var http = H2c.Client();
        using var content = new ByteArrayContent(body);
        var (status, message, elapsed, hung, streaming) = await H2c.CallAsync(
            http, host.Address, path, host.Token, content, RawGrpc.CallBound, [("grpc-encoding", "gzip")], untilFirstMessage: method.IsServerStreaming, Ct);
        var outcome = hung ? "HUNG" : streaming ? "a response message" : status is { } s ? ((StatusCode)s).ToString() : message;
        SecurityFigures.Tally("wire.gzip", "well-formed gzip-compressed request", outcome);
        TestContext.Current.TestOutputHelper?.WriteLine($"{path}: {outcome} \"{message}\" in {elapsed.TotalMilliseconds:0} ms");

        // A server stream answering with a message has read the request; anything else must be a status the method promises.
        Assert.False(hung, $"no answer after {elapsed}.");
        if (!streaming)
        {
            Assert.NotNull(status);
            Assert.Contains((StatusCode)status.Value, sample.Outcomes);
            Assert.NotEqual(ServiceDefaults.UnparseableRequests.MessageFor(path), message);
        }
    }

    [Fact]
    public async Task After_garbage_of_every_kind_a_normal_client_is_served_and_health_is_SERVING()
    {
        // Runs with the other tests of this class in any order; done last on purpose is not needed: every garbage test
        // already asserts the services keep serving. This one adds: a fresh client, every service, a normal call each.
        var clock = Stopwatch.StartNew();
        var inventory = new InventoryService.InventoryServiceClient(System.Inventory.Channel);
        var item = await inventory.GetItemAsync(new GetItemRequest { Sku = "SEC-1" }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);

        Assert.Equal("SEC-1", item.Item.Sku);
        Assert.True(await System.AllServingAsync());
        SecurityFigures.Tally("wire.after", "normal call + health on every service", $"OK in {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>What grpc-dotnet answers each framing lie with (observed, asserted so a change shows up).</summary>
    private static StatusCode Expected(string kind, Google.Protobuf.Reflection.MethodDescriptor method) => kind switch
    {
        "compressed flag 1 without grpc-encoding" => StatusCode.Internal, // "Request did not include grpc-encoding value with compressed message."
        "length prefix beyond the body" or "frame header cut at 3 bytes" => StatusCode.Internal, // "Incomplete message."
        "length prefix over Grpc:MaxMessageSize" => StatusCode.ResourceExhausted, // refused on the prefix, before the body arrives
        // Zero messages: a client stream may legitimately be empty; a unary request may not ("Incomplete message.").
        "empty body" => method.IsClientStreaming ? StatusCode.OK : StatusCode.Internal,
        // A compressed flag other than 0 or 1, or a gzip body that does not decompress: unparseable, like bytes that are
        // not the message (ServiceDefaults' UnparseableFrames; grpc-dotnet alone answers UNKNOWN, INTERNAL on a client stream).
        _ => StatusCode.InvalidArgument,
    };

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    private static string Answer(RawHttp2Connection connection, H2Frame? goAway) =>
        goAway is not null ? $", GOAWAY {H2Frame.ErrorName(goAway.ErrorCode)}"
        : connection.BytesReceived > 0 ? $", \"{connection.FirstBytesText}\""
        : "";

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
