using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Contoso.Retail.TestSupport;

/// <summary>What the link through a <see cref="FaultProxy"/> does to traffic right now.</summary>
public enum Fault
{
    /// <summary>Bytes pass untouched.</summary>
    None,

    /// <summary>Every chunk, either way, waits <see cref="FaultProxy.Delay"/> first.</summary>
    Delay,

    /// <summary>
    /// Requests reach the server, but the first response back on a connection (the chunk carrying an HTTP/2 HEADERS
    /// frame of a stream) is dropped and the connection reset: the work is done, the answer lost. Connection-level
    /// frames (SETTINGS, PING, WINDOW_UPDATE) still pass, so the requests get through first.
    /// </summary>
    DropReplies,

    /// <summary>Nothing moves either way (held, like packets a dead route swallows, and delivered if the fault lifts); connections stay open.</summary>
    Blackhole,

    /// <summary>The port refuses connections (closed listener) and every open connection is reset: a crashed host.</summary>
    Refuse,
}

/// <summary>
/// A TCP proxy on a free loopback port in front of one target, injecting <see cref="Fault"/>s: resets, delays,
/// replies dropped mid-stream, blackholes, refusal. Faults can be set by hand, run on a schedule, or fire when the
/// bytes sent upstream pass given thresholds (<see cref="CutAfterUpstreamBytes"/>).
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<int, Link> _links = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _listenerLock = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private int _nextLink;
    private volatile Fault _fault;
    private long _connections;
    private long _resets;
    private long _droppedReplies;
    private long _delayedChunks;
    private long _heldChunks;
    private long _upstreamBytes;
    private Queue<long> _cutAt = new();
    private int _cuts;

    private FaultProxy(IPEndPoint target, int port)
    {
        _target = target;
        Port = port;
    }

    public int Port { get; }

    /// <summary>http://127.0.0.1:{port}, what a client is pointed at instead of the target.</summary>
    public Uri Address => new($"http://127.0.0.1:{Port}");

    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(25);

    public Fault Fault
    {
        get => _fault;
        set
        {
            var previous = _fault;
            _fault = value;
            if (value == Fault.Refuse && previous != Fault.Refuse)
            {
                CloseListener();
                ResetAll();
            }
            else if (value != Fault.Refuse && previous == Fault.Refuse)
            {
                OpenListener();
            }
        }
    }

    /// <summary>How many times <see cref="CutAfterUpstreamBytes"/> reset every connection.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>What the proxy did so far, for the figures.</summary>
    public ProxyCounters Counters => new(
        Interlocked.Read(ref _connections), Interlocked.Read(ref _resets), Interlocked.Read(ref _droppedReplies),
        Interlocked.Read(ref _delayedChunks), Interlocked.Read(ref _heldChunks));

    public static FaultProxy Start(Uri target) => Start(target.Port);

    public static FaultProxy Start(int targetPort)
    {
        var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        var proxy = new FaultProxy(new IPEndPoint(IPAddress.Loopback, targetPort), port);
        proxy.OpenListener(probe);
        return proxy;
    }

    /// <summary>Resets (RST) every open connection now, whatever the current fault.</summary>
    public void ResetAll()
    {
        foreach (var link in _links.Values)
        {
            if (link.Abort())
            {
                Interlocked.Increment(ref _resets);
            }
        }
    }

    /// <summary>
    /// Resets every open connection once the bytes sent upstream (in all, since the proxy started) pass each
    /// threshold, so a long stream is cut mid-flight at a known point, not after a sleep. New connections pass as before.
    /// </summary>
    public void CutAfterUpstreamBytes(params long[] thresholds)
    {
        lock (_listenerLock)
        {
            _cutAt = new Queue<long>(thresholds.Order());
        }
    }

    /// <summary>
    /// Runs through <paramref name="schedule"/> <paramref name="passes"/> times (or until
    /// <paramref name="cancellationToken"/> is cancelled), then leaves the link healthy. A step of
    /// <see cref="Fault.None"/> with zero duration is a one-off <see cref="ResetAll"/>.
    /// </summary>
    public async Task RunScheduleAsync(IReadOnlyList<FaultStep> schedule, int passes, CancellationToken cancellationToken)
    {
        try
        {
            for (var pass = 0; pass < passes && !cancellationToken.IsCancellationRequested; pass++)
            {
                foreach (var step in schedule)
                {
                    if (step.Reset)
                    {
                        ResetAll();
                    }

                    Fault = step.Fault;
                    await Task.Delay(step.Duration, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            Fault = Fault.None;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        CloseListener();
        ResetAll();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private void OpenListener(Socket? bound = null)
    {
        lock (_listenerLock)
        {
            if (_listener is not null || _stop.IsCancellationRequested)
            {
                return;
            }

            var listener = bound ?? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            if (bound is null)
            {
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, Port));
            }

            listener.Listen(512);
            _listener = listener;
            _accepting = AcceptAsync(listener);
        }
    }

    private void CloseListener()
    {
        lock (_listenerLock)
        {
            _listener?.Dispose();
            _listener = null;
        }
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var link = new Link(client, server);
        var id = Interlocked.Increment(ref _nextLink);
        _links[id] = link;
        try
        {
            if (_fault == Fault.Refuse)
            {
                link.Abort();
                return;
            }

            await server.ConnectAsync(_target, _stop.Token);
            await Task.WhenAll(PumpAsync(link, client, server, toClient: false), PumpAsync(link, server, client, toClient: true));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The target is down, or the link was reset: the other side sees a reset.
        }
        finally
        {
            link.Abort();
            _links.TryRemove(id, out _);
        }
    }

    private async Task PumpAsync(Link link, Socket from, Socket to, bool toClient)
    {
        var buffer = new byte[16 * 1024];
        // The server's side of an h2c connection is HTTP/2 frames from its first byte.
        var frames = new Http2FrameScanner();
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (_fault == Fault.Blackhole)
                {
                    Interlocked.Increment(ref _heldChunks);
                    while (_fault == Fault.Blackhole)
                    {
                        await Task.Delay(5, _stop.Token);
                    }
                }

                var carriesResponse = toClient && frames.ContainsStreamHeaders(buffer.AsSpan(0, read));
                switch (_fault)
                {
                    case Fault.Delay:
                        Interlocked.Increment(ref _delayedChunks);
                        await Task.Delay(Delay, _stop.Token);
                        break;
                    case Fault.DropReplies when carriesResponse:
                        Interlocked.Increment(ref _droppedReplies);
                        if (link.Abort())
                        {
                            Interlocked.Increment(ref _resets);
                        }

                        return;
                    case Fault.Refuse:
                        link.Abort();
                        return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                if (!toClient && PassedCutThreshold(read))
                {
                    ResetAll();
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            link.Abort();
        }
    }

    private bool PassedCutThreshold(int bytes)
    {
        var total = Interlocked.Add(ref _upstreamBytes, bytes);
        lock (_listenerLock)
        {
            if (_cutAt.Count == 0 || total < _cutAt.Peek())
            {
                return false;
            }

            while (_cutAt.Count > 0 && total >= _cutAt.Peek())
            {
                _cutAt.Dequeue();
            }

            Interlocked.Increment(ref _cuts);
            return true;
        }
    }

    /// <summary>Follows HTTP/2 frame boundaries across chunks, to tell a stream's response HEADERS from connection frames.</summary>
    private sealed class Http2FrameScanner
    {
        private const int HeaderLength = 9;
        private const byte HeadersFrame = 0x1;
        private readonly byte[] _header = new byte[HeaderLength];
        private int _headerFilled;
        private long _payloadLeft;

        public bool ContainsStreamHeaders(ReadOnlySpan<byte> chunk)
        {
            var found = false;
            while (!chunk.IsEmpty)
            {
                if (_payloadLeft > 0)
                {
                    var skip = (int)Math.Min(_payloadLeft, chunk.Length);
                    _payloadLeft -= skip;
                    chunk = chunk[skip..];
                    continue;
                }

                var take = Math.Min(HeaderLength - _headerFilled, chunk.Length);
                chunk[..take].CopyTo(_header.AsSpan(_headerFilled));
                _headerFilled += take;
                chunk = chunk[take..];
                if (_headerFilled == HeaderLength)
                {
                    _headerFilled = 0;
                    _payloadLeft = (_header[0] << 16) | (_header[1] << 8) | _header[2];
                    var stream = ((_header[5] & 0x7F) << 24) | (_header[6] << 16) | (_header[7] << 8) | _header[8];
                    found |= _header[3] == HeadersFrame && stream != 0;
                }
            }

            return found;
        }
    }

    /// <summary>Both sockets of one proxied connection.</summary>
    private sealed class Link(Socket client, Socket server)
    {
        private int _aborted;

        /// <summary>Closes both sides with RST (linger 0). True the first time.</summary>
        public bool Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) == 1)
            {
                return false;
            }

            foreach (var socket in new[] { client, server })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Never connected or already gone: closing is all there is to do.
                }

                socket.Dispose();
            }

            return true;
        }
    }
}

/// <summary>One step of a fault schedule: optionally reset every connection, then hold <see cref="Fault"/> for <see cref="Duration"/>.</summary>
public readonly record struct FaultStep(Fault Fault, TimeSpan Duration, bool Reset = false)
{
    public static FaultStep For(Fault fault, int milliseconds) => new(fault, TimeSpan.FromMilliseconds(milliseconds));

    public static FaultStep ResetThen(Fault fault, int milliseconds) => new(fault, TimeSpan.FromMilliseconds(milliseconds), Reset: true);
}

public readonly record struct ProxyCounters(long Connections, long Resets, long DroppedReplies, long DelayedChunks, long HeldChunks);
