using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Security.Tests;

/// <summary>One HTTP/2 frame as read off the wire.</summary>
public sealed record H2Frame(byte Type, byte Flags, int StreamId, byte[] Payload)
{
    public const byte Data = 0, Headers = 1, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7, WindowUpdate = 8;
    public const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;

    /// <summary>The error code of a RST_STREAM or GOAWAY frame (0 = NO_ERROR, 1 = PROTOCOL_ERROR, 7 = REFUSED_STREAM, 11 = ENHANCE_YOUR_CALM...).</summary>
    public uint ErrorCode => Type switch
    {
        RstStream => BinaryPrimitives.ReadUInt32BigEndian(Payload),
        GoAway => BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)),
        _ => 0,
    };

    public static string ErrorName(uint code) => code switch
    {
        0 => "NO_ERROR",
        1 => "PROTOCOL_ERROR",
        2 => "INTERNAL_ERROR",
        3 => "FLOW_CONTROL_ERROR",
        5 => "STREAM_CLOSED",
        6 => "FRAME_SIZE_ERROR",
        7 => "REFUSED_STREAM",
        8 => "CANCEL",
        9 => "COMPRESSION_ERROR",
        11 => "ENHANCE_YOUR_CALM",
        _ => $"0x{code:x}",
    };
}

/// <summary>
/// A client-side HTTP/2 connection written by hand on a raw socket, for what no well-behaved client sends: garbage
/// frames, more streams than the server allows, windows that never open. A background reader records every frame the
/// server sends, answers SETTINGS and PING (as a live peer must), and notes how and when the server closed the connection.
/// </summary>
public sealed class RawHttp2Connection : IAsyncDisposable
{
    public static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _reader;
    private long _bytesReceived;
    private readonly List<byte> _firstBytes = [];

    private RawHttp2Connection(TcpClient tcp, Uri address)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        Authority = $"{address.Host}:{address.Port}";
        _reader = Task.Run(ReadLoopAsync);
    }

    public string Authority { get; }

    public ConcurrentQueue<H2Frame> Frames { get; } = new();

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>The first bytes the server sent, as text when they are not HTTP/2 frames (e.g. an HTTP/1.1 status line).</summary>
    public string FirstBytesText
    {
        get
        {
            lock (_firstBytes)
            {
                return Encoding.ASCII.GetString([.. _firstBytes]).Split('\r')[0];
            }
        }
    }

    /// <summary>Completes with how the server ended the connection: "eof" (a clean FIN) or "reset: ..." (an abortive close).</summary>
    public Task<string> Closed => _closed.Task;

    /// <summary>When the server closed the connection, since it was opened.</summary>
    public TimeSpan? ClosedAfter { get; private set; }

    /// <param name="initialWindowSize">SETTINGS_INITIAL_WINDOW_SIZE the client announces: 0 lets the server send no DATA at all.</param>
    public static async Task<RawHttp2Connection> OpenAsync(Uri address, bool handshake = true, int initialWindowSize = 65_535, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, address.Port, cancellationToken);
        var connection = new RawHttp2Connection(tcp, address);
        if (handshake)
        {
            var settings = new byte[6];
            BinaryPrimitives.WriteUInt16BigEndian(settings, 0x4); // SETTINGS_INITIAL_WINDOW_SIZE
            BinaryPrimitives.WriteInt32BigEndian(settings.AsSpan(2), initialWindowSize);
            await connection.SendAsync([.. Preface, .. Frame(H2Frame.Settings, 0, 0, settings)], cancellationToken);
        }

        return connection;
    }

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId & int.MaxValue);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>A gRPC request's HEADERS frame (HPACK literals, no Huffman, no indexing).</summary>
    public byte[] RequestHeaders(int streamId, string path, string? token, bool endStream = false, IEnumerable<(string Name, string Value)>? extra = null)
    {
        List<(string, string)> headers =
        [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", Authority),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ];
        if (token is not null)
        {
            headers.Add(("authorization", "Bearer " + token));
        }

        headers.AddRange(extra ?? []);
        return Frame(H2Frame.Headers, (byte)(H2Frame.EndHeaders | (endStream ? H2Frame.EndStream : 0)), streamId, Hpack(headers));
    }

    public static byte[] Hpack(IEnumerable<(string Name, string Value)> headers)
    {
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0x00); // literal header field without indexing, new name
            HpackString(block, name);
            HpackString(block, value);
        }

        return [.. block];
    }

    private static void HpackString(List<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var length = bytes.Length;
        if (length < 127)
        {
            block.Add((byte)length);
        }
        else
        {
            block.Add(127);
            length -= 127;
            while (length >= 128)
            {
                block.Add((byte)((length % 128) + 128));
                length /= 128;
            }

            block.Add((byte)length);
        }

        block.AddRange(bytes);
    }

    public async Task SendAsync(byte[] bytes, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends, or reports why it could not (the server may have closed the connection already, which is the point).</summary>
    public async Task<bool> TrySendAsync(byte[] bytes, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(bytes, cancellationToken);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Waits until the frames received so far satisfy <paramref name="condition"/>, or the connection closes, or <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForAsync(Func<IReadOnlyCollection<H2Frame>, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await Eventually.WithinAsync(() => Task.FromResult(condition(Frames) || Closed.IsCompleted), timeout);
        return condition(Frames);
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                if (!await FillAsync(header))
                {
                    break;
                }

                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var payload = new byte[length];
                if (!await FillAsync(payload))
                {
                    break;
                }

                var frame = new H2Frame(header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
                Frames.Enqueue(frame);
                if (frame.Type == H2Frame.Settings && (frame.Flags & H2Frame.Ack) == 0)
                {
                    await TrySendAsync(Frame(H2Frame.Settings, H2Frame.Ack, 0, []));
                }
                else if (frame.Type == H2Frame.Ping && (frame.Flags & H2Frame.Ack) == 0)
                {
                    await TrySendAsync(Frame(H2Frame.Ping, H2Frame.Ack, 0, payload));
                }
            }

            Close("eof");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
        {
            Close("reset: " + (ex.InnerException ?? ex).GetType().Name);
        }
    }

    private void Close(string how)
    {
        ClosedAfter ??= _clock.Elapsed;
        _closed.TrySetResult(how);
    }

    private async Task<bool> FillAsync(byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0)
            {
                return false;
            }

            Interlocked.Add(ref _bytesReceived, n);
            lock (_firstBytes)
            {
                _firstBytes.AddRange(buffer.AsSpan(read, Math.Min(n, Math.Max(0, 64 - _firstBytes.Count))));
            }

            read += n;
        }

        return true;
    }

    /// <summary>Closes the connection abortively (a TCP reset, as a client that dies or is killed), not with a FIN.</summary>
    public ValueTask AbortAsync()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        return DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }

        _writeLock.Dispose();
    }
}

/// <summary>Plain HttpClient over HTTP/2 cleartext with prior knowledge, for gRPC requests whose framing the test writes itself.</summary>
public static class H2c
{
    public static HttpClient Client(bool singleConnection = true) => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = !singleConnection })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        // Exact HTTP/2 on an http:// address is prior knowledge (h2c): no upgrade, no TLS, which is what a gRPC port speaks.
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>A gRPC message frame: compressed flag, a 4-byte big-endian length (normally the body's), the body.</summary>
    public static byte[] GrpcFrame(byte[] body, byte compressedFlag = 0, uint? declaredLength = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var frame = new byte[5 + body.Length];
        frame[0] = compressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    public static HttpRequestMessage Request(Uri address, string path, string? token, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + token);
        }

        content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        return request;
    }

    /// <summary>
    /// Posts a hand-framed gRPC request and reads the whole response: the status from its trailers (or a trailers-only
    /// response; null when the server sent none). <c>Hung</c>: no response headers within <paramref name="bound"/>;
    /// <c>Streaming</c>: the response started but had not ended by then (an open server stream).
    /// </summary>
    public static Task<(int? Status, string Message, TimeSpan Elapsed, bool Hung, bool Streaming)> CallAsync(
        HttpClient client, Uri address, string path, string? token, HttpContent content, TimeSpan bound,
        IEnumerable<(string Name, string Value)>? headers = null, CancellationToken cancellationToken = default) =>
        CallAsync(client, address, path, token, content, bound, headers, untilFirstMessage: false, cancellationToken);

    /// <param name="untilFirstMessage">Return "streaming" as soon as response body bytes arrive, for a stream expected to stay open.</param>
    public static async Task<(int? Status, string Message, TimeSpan Elapsed, bool Hung, bool Streaming)> CallAsync(
        HttpClient client, Uri address, string path, string? token, HttpContent content, TimeSpan bound,
        IEnumerable<(string Name, string Value)>? headers, bool untilFirstMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = Request(address, path, token, content);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(bound);
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (null, "no answer", clock.Elapsed, true, false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not our bound: the handler gave up on the request because the server ended the stream or connection.
            return (null, $"HTTP/2 request ended: {ex.GetType().Name}", clock.Elapsed, false, false);
        }
        catch (HttpRequestException ex)
        {
            return (null, $"HTTP/2 request failed: {Innermost(ex).Message}", clock.Elapsed, false, false);
        }

        using (response)
        {
            try
            {
                if (untilFirstMessage)
                {
                    // Response body bytes are a message on its way: for a stream expected to stay open, the event to wait
                    // for. None before the end: the trailers say how it ended.
                    var bodyStream = await response.Content.ReadAsStreamAsync(timeout.Token);
                    if (await bodyStream.ReadAsync(new byte[1], timeout.Token) > 0)
                    {
                        return (null, "streaming", clock.Elapsed, false, true);
                    }
                }
                else
                {
                    await response.Content.ReadAsByteArrayAsync(timeout.Token);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, "still streaming", clock.Elapsed, false, true);
            }
            catch (HttpRequestException ex)
            {
                return (null, $"HTTP/2 response failed: {Innermost(ex).Message}", clock.Elapsed, false, false);
            }

            var (status, message) = GrpcStatus(response);
            return (status, status is null ? $"HTTP {(int)response.StatusCode} {response.Version}, no grpc-status" : message, clock.Elapsed, false, false);
        }
    }

    private static Exception Innermost(Exception ex) => ex.InnerException is null ? ex : Innermost(ex.InnerException);

    /// <summary>grpc-status and grpc-message from the trailers, or from the headers of a trailers-only response; null when there is none.</summary>
    public static (int? Status, string Message) GrpcStatus(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var headers in new System.Net.Http.Headers.HttpHeaders[] { response.TrailingHeaders, response.Headers })
        {
            if (headers.TryGetValues("grpc-status", out var status))
            {
                var message = headers.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.First()) : "";
                return (int.Parse(status.First(), System.Globalization.CultureInfo.InvariantCulture), message);
            }
        }

        return (null, "");
    }
}
