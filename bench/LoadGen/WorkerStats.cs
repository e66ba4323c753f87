using System.Diagnostics;

using Grpc.Core;

using HdrHistogram;

namespace Contoso.Retail.LoadGen;

/// <summary>One worker's measurements; only its worker writes them (counters are read live for progress).</summary>
public sealed class WorkerStats
{
    /// <summary>Latencies in nanoseconds, up to a minute, three significant digits.</summary>
    public static LongHistogram NewHistogram() => new(TimeSpan.FromMinutes(1).Ticks * 100, 3);

    private long _ok;
    private long _failed;
    private long _items;
    private long _warmup;

    public LongHistogram Latency { get; } = NewHistogram();

    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public long Ok => Volatile.Read(ref _ok);

    public long Failed => Volatile.Read(ref _failed);

    public long Items => Volatile.Read(ref _items);

    public long Warmup => Volatile.Read(ref _warmup);

    public void RecordWarmup() => Interlocked.Increment(ref _warmup);

    /// <summary>A measured operation that ended at <paramref name="end"/>; latency counts from when it was due.</summary>
    public void RecordOk(long due, long end, long items)
    {
        Latency.RecordValue(Nanoseconds(end - due));
        Interlocked.Add(ref _items, items);
        Interlocked.Increment(ref _ok);
    }

    /// <summary>A measured operation that failed; failures are counted by status code, not put in the histogram.</summary>
    public void RecordError(string code)
    {
        Errors[code] = Errors.GetValueOrDefault(code) + 1;
        Interlocked.Increment(ref _failed);
    }

    public static string CodeOf(Exception ex) => ex switch
    {
        RpcException rpc => rpc.StatusCode.ToString(),
        _ => "Client:" + ex.GetType().Name,
    };

    private static long Nanoseconds(long stopwatchTicks) =>
        Math.Max(1, (long)(stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency)));
}
