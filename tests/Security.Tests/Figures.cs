using System.Text.Json;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// The figures each scenario records (calls, statuses, memory), printed to the test output and collected in
/// TestResults/security-figures.json next to the test assembly, for docs/reliability.md.
/// </summary>
public static class Figures
{
    private static readonly Lock Gate = new();
    private static readonly SortedDictionary<string, object> All = new(StringComparer.Ordinal);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string FilePath { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "security-figures.json");

    public static void Record(string scenario, object figures)
    {
        var text = JsonSerializer.Serialize(figures, Json);
        TestContext.Current.TestOutputHelper?.WriteLine($"{scenario}: {text}");
        lock (Gate)
        {
            All[scenario] = figures;
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            File.WriteAllText(FilePath, JsonSerializer.Serialize(All, Json));
        }
    }

    private static readonly Dictionary<string, SortedDictionary<string, SortedDictionary<string, int>>> Tallies = new(StringComparer.Ordinal);

    /// <summary>Counts one outcome of <paramref name="scenario"/> under <paramref name="key"/> (e.g. the method) and records the scenario's table.</summary>
    public static void Tally(string scenario, string key, object outcome)
    {
        SortedDictionary<string, SortedDictionary<string, int>> table;
        lock (Gate)
        {
            if (!Tallies.TryGetValue(scenario, out table!))
            {
                Tallies[scenario] = table = new(StringComparer.Ordinal);
            }

            if (!table.TryGetValue(key, out var counts))
            {
                table[key] = counts = new(StringComparer.Ordinal);
            }

            var name = Name(outcome);
            counts[name] = counts.GetValueOrDefault(name) + 1;
            All[scenario] = table;
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            File.WriteAllText(FilePath, JsonSerializer.Serialize(All, Json));
        }
    }

    /// <summary>Counts by status name, e.g. { "OK": 12, "InvalidArgument": 3 }.</summary>
    public static SortedDictionary<string, int> ByStatus<T>(IEnumerable<T> codes) where T : notnull =>
        new(codes.GroupBy(c => Name(c))
            .ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    private static string Name(object outcome) => outcome switch
    {
        Grpc.Core.StatusCode code when code == RawGrpc.Hung => "HUNG",
        Grpc.Core.StatusCode code when code == RawGrpc.TransportFailure => "TRANSPORT_FAILURE",
        _ => outcome.ToString()!,
    };
}
