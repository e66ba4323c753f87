using System.Net;
using System.Net.Sockets;

namespace Contoso.Retail.Clients.Tests;

/// <summary>
/// A loopback TCP proxy in front of a service that resets every open connection once the bytes sent upstream
/// pass each given threshold, so a long stream is cut mid-flight at a known point (not after a sleep).
/// New connections are forwarded as before: clients reconnect through it.
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly Queue<long> _cutAt;
    private readonly List<Socket> _open = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _upstreamBytes;

    public CuttingProxy(Uri target, params long[] cutAfterUpstreamBytes)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _cutAt = new Queue<long>(cutAfterUpstreamBytes.Order());
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>How many times every connection was reset.</summary>
    public int Cuts { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ResetAll();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(_target, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (_lock)
            {
                _open.Add(client);
                _open.Add(upstream);
            }

            _ = PumpAsync(client, upstream, countUpstream: true);
            _ = PumpAsync(upstream, client, countUpstream: false);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool countUpstream)
    {
        var buffer = new byte[16 * 1024];
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

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                if (countUpstream && PassedThreshold(read))
                {
                    ResetAll();
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection was reset (by us or an end); the other pump sees it too.
        }
    }

    private bool PassedThreshold(int bytes)
    {
        var total = Interlocked.Add(ref _upstreamBytes, bytes);
        lock (_lock)
        {
            if (_cutAt.Count == 0 || total < _cutAt.Peek())
            {
                return false;
            }

            while (_cutAt.Count > 0 && total >= _cutAt.Peek())
            {
                _cutAt.Dequeue();
            }

            Cuts++;
            return true;
        }
    }

    /// <summary>RST, not FIN: the peers see the connection die, as when a node or a NAT drops it.</summary>
    private void ResetAll()
    {
        List<Socket> open;
        lock (_lock)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var socket in open)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
