using System.Diagnostics;
using System.Globalization;

namespace Contoso.Retail.LoadGen;

/// <summary>
/// CPU time of this process and (on Linux, with --server-pid) of the server, so a result shows which side was
/// busy: a server near 1.0 core on its one core is server-bound; a client near 1.0 may be the bottleneck.
/// </summary>
public sealed class CpuSampler(int? serverPid)
{
    private TimeSpan _client;
    private TimeSpan? _server;
    private long _at;

    public static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Start()
    {
        _at = Stopwatch.GetTimestamp();
        _client = ClientTime();
        _server = ServerTime();
    }

    /// <returns>Cores used by the client and the server since <see cref="Start"/> (1.0 = one core busy all the time).</returns>
    public (double Client, double? Server) Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_at).TotalSeconds;
        var client = (ClientTime() - _client).TotalSeconds / wall;
        double? server = ServerTime() is { } now && _server is { } then ? (now - then).TotalSeconds / wall : null;
        return (Math.Round(client, 2), server is { } s ? Math.Round(s, 2) : null);
    }

    private static TimeSpan ClientTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>utime + stime from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).</summary>
    private TimeSpan? ServerTime()
    {
        if (serverPid is not { } pid)
        {
            return null;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may contain spaces; the fields after it are space-separated.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
