using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

using HdrHistogram;

namespace Contoso.Retail.LoadGen;

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record Latency(double P50, double P90, double P99, double P999, double Max, double Mean);

/// <summary>What one run measured; written as JSON for bench/report.py and as a Markdown table for people.</summary>
public sealed record RunResult(
    string Label,
    string Scenario,
    string Target,
    int Connections,
    int Concurrency,
    double? Rate,
    double WarmupSeconds,
    double MeasuredSeconds,
    long Ok,
    long Failed,
    IReadOnlyDictionary<string, long> Errors,
    double Throughput,
    string ItemUnit,
    long Items,
    double ItemsPerSecond,
    Latency LatencyMs,
    DateTime StartedUtc)
{
    /// <summary>Cores the load generator used during the measured window.</summary>
    public double? ClientCpu { get; init; }

    /// <summary>Cores the server process (--server-pid) used during the measured window.</summary>
    public double? ServerCpu { get; init; }

    /// <summary>The machine's 1-minute load average (the higher of start and end): other work competing for the cores.</summary>
    public double? LoadAverage { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static RunResult From(LoadOptions options, string itemUnit, IReadOnlyList<WorkerStats> stats, double measuredSeconds)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        var histogram = WorkerStats.NewHistogram();
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var worker in stats)
        {
            histogram.Add(worker.Latency);
            foreach (var (code, count) in worker.Errors)
            {
                errors[code] = errors.GetValueOrDefault(code) + count;
            }
        }

        var ok = stats.Sum(s => s.Ok);
        var items = stats.Sum(s => s.Items);
        var seconds = Math.Max(measuredSeconds, 1e-9);
        return new RunResult(
            options.Label,
            options.Scenario,
            options.Target,
            options.Connections,
            options.Concurrency,
            options.Rate,
            options.Warmup.TotalSeconds,
            Math.Round(measuredSeconds, 3),
            ok,
            stats.Sum(s => s.Failed),
            errors,
            Math.Round(ok / seconds, 1),
            itemUnit,
            items,
            Math.Round(items / seconds, 1),
            LatencyOf(histogram),
            DateTime.UtcNow.AddSeconds(-(options.Warmup.TotalSeconds + measuredSeconds)));
    }

    public static Latency LatencyOf(HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.TotalCount == 0)
        {
            return new Latency(0, 0, 0, 0, 0, 0);
        }

        static double Ms(double nanoseconds) => Math.Round(nanoseconds / 1_000_000.0, 3);
        return new Latency(
            Ms(histogram.GetValueAtPercentile(50)),
            Ms(histogram.GetValueAtPercentile(90)),
            Ms(histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetValueAtPercentile(99.9)),
            Ms(histogram.GetMaxValue()),
            Ms(histogram.GetMean()));
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunResult FromJson(string json) =>
        JsonSerializer.Deserialize<RunResult>(json, Json) ?? throw new JsonException("Empty result.");

    /// <summary>A one-row Markdown table (header included).</summary>
    public string ToMarkdown()
    {
        var errors = Errors.Count == 0 ? "0" : string.Join(", ", Errors.Select(e => $"{e.Key} {e.Value}"));
        var load = Rate is { } rate ? $"open loop {rate:F0}/s" : "closed loop";
        var text = new StringBuilder()
            .AppendLine("| run | load | conns x workers | ok/s | " + ItemUnit + "/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | ok | errors | cpu client/server | loadavg |")
            .AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
            .Append(CultureInfo.InvariantCulture,
                $"| {Label} | {load} | {Connections} x {Concurrency} | {Throughput:N0} | {ItemsPerSecond:N0} | {LatencyMs.P50:F3} | {LatencyMs.P90:F3} | {LatencyMs.P99:F3} | {LatencyMs.P999:F3} | {LatencyMs.Max:F3} | {Ok:N0} | {errors} | {ClientCpu:F2}/{ServerCpu?.ToString("F2", CultureInfo.InvariantCulture) ?? "-"} | {LoadAverage:F1} |")
            .AppendLine();
        return text.ToString();
    }
}
