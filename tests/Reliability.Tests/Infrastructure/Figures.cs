using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>
/// The figures of one scenario run (calls, failures by status, duplicates, lost records, recovery times), written
/// to the test output and to TestResults/reliability/{scenario}.json when the test ends, so docs/reliability.md
/// quotes real runs.
/// </summary>
public sealed partial class Figures
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, object> _values = new(StringComparer.Ordinal);

    public Figures(string scenario)
    {
        Scenario = scenario;
        _values["started"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        _values["machine"] = $"{Environment.ProcessorCount} cpu, {Environment.OSVersion}, .NET {Environment.Version}";
    }

    public string Scenario { get; }

    /// <summary>Where every scenario's JSON goes: TestResults/reliability under the repository root.</summary>
    public static string Folder => Repository.PathOf("TestResults", "reliability");

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
        TestContext.Current.TestOutputHelper?.WriteLine($"figures {Scenario}:\n{json}");
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, Scenario + ".json"), json);
    }

    [System.Text.RegularExpressions.GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")]
    private static partial System.Text.RegularExpressions.Regex Ids();

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
