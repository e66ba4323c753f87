using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

using Grpc.Core;

using Xunit;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// Figures of a test run (calls, failures by status, tallies, recovery times), written to the test output and to a
/// JSON file, so docs/reliability.md quotes real runs: one scenario per file (reliability), or a file several
/// tests add to (the security suite's).
/// </summary>
public sealed partial class Figures
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, object> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<string, SortedDictionary<string, int>>> _tallies = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly string _file;

    /// <param name="file">The JSON file <see cref="Publish"/> writes.</param>
    /// <param name="stamped">Start with when and on what machine the run was.</param>
    public Figures(string scenario, string file, bool stamped = true)
    {
        Scenario = scenario;
        _file = file;
        if (stamped)
        {
            _values["started"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            _values["machine"] = $"{Environment.ProcessorCount} cpu, {Environment.OSVersion}, .NET {Environment.Version}";
        }
    }

    public string Scenario { get; }

    public void Add(string name, long by = 1) => _counts.AddOrUpdate(name, by, (_, value) => value + by);

    public long Count(string name) => _counts.GetValueOrDefault(name);

    /// <summary>Counts one finished call as "{prefix}.ok" or "{prefix}.{STATUS}".</summary>
    public void Outcome(string prefix, StatusCode status) =>
        Add($"{prefix}.{(status == StatusCode.OK ? "ok" : StatusName(status))}");

    public void Set(string name, object value) => _values[name] = value;

    /// <summary>Counts a failure's message (ids and trace ids blanked), so the figures say why calls failed.</summary>
    public void Reason(RpcException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var detail = Ids().Replace(failure.Status.Detail, "*");
        Add($"reason.{StatusName(failure.StatusCode)}: {(detail.Length > 140 ? detail[..140] : detail)}");
    }

    public void Duration(string name, TimeSpan value) => _values[name + "_ms"] = Math.Round(value.TotalMilliseconds);

    /// <summary>Failures of <paramref name="prefix"/> by status, e.g. "UNAVAILABLE=3, DEADLINE_EXCEEDED=1", or "none".</summary>
    public string FailuresOf(string prefix)
    {
        var failures = _counts
            .Where(c => c.Key.StartsWith(prefix + ".", StringComparison.Ordinal) && !c.Key.EndsWith(".ok", StringComparison.Ordinal))
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => $"{c.Key[(prefix.Length + 1)..]}={c.Value}")
            .ToList();
        return failures.Count == 0 ? "none" : string.Join(", ", failures);
    }

    /// <summary>The statuses (e.g. "UNAVAILABLE") of the failures counted under <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> FailureStatuses(string prefix) =>
    [
        .. _counts.Keys
            .Where(key => key.StartsWith(prefix + ".", StringComparison.Ordinal) && !key.EndsWith(".ok", StringComparison.Ordinal))
            .Select(key => key[(prefix.Length + 1)..])
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>Records <paramref name="figures"/> under <paramref name="name"/>, prints them and rewrites the file.</summary>
    public void Record(string name, object figures)
    {
        _values[name] = figures;
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {JsonSerializer.Serialize(figures, JsonOptions)}");
        Write();
    }

    /// <summary>Counts one <paramref name="outcome"/> of <paramref name="key"/> (e.g. the method) in table <paramref name="name"/> and rewrites the file.</summary>
    public void Tally(string name, string key, string outcome)
    {
        lock (_gate)
        {
            if (!_tallies.TryGetValue(name, out var table))
            {
                _tallies[name] = table = new(StringComparer.Ordinal);
                _values[name] = table;
            }

            if (!table.TryGetValue(key, out var counts))
            {
                table[key] = counts = new(StringComparer.Ordinal);
            }

            counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            Write();
        }
    }

    /// <summary>Counts by name, e.g. { "OK": 12, "InvalidArgument": 3 }.</summary>
    public static SortedDictionary<string, int> ByStatus<T>(IEnumerable<T> outcomes, Func<T, string> name) =>
        new(outcomes.GroupBy(name).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    public static string StatusName(StatusCode status) => status switch
    {
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => status.ToString().ToUpperInvariant(),
    };

    /// <summary>Writes the figures to the test output and the JSON file; call at the end of the scenario, pass or fail.</summary>
    public void Publish()
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"figures {Scenario}:\n{Write()}");
    }

    private string Write()
    {
        lock (_gate)
        {
            var all = new SortedDictionary<string, object>(StringComparer.Ordinal);
            foreach (var (key, value) in _counts)
            {
                all[key] = value;
            }

            foreach (var (key, value) in _values)
            {
                all[key] = value;
            }

            var json = JsonSerializer.Serialize(all, JsonOptions);
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            File.WriteAllText(_file, json);
            return json;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")]
    private static partial System.Text.RegularExpressions.Regex Ids();

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
