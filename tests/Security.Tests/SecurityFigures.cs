using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// The suite's figures (calls, statuses, memory), printed to the test output and collected in
/// TestResults/security/figures.json under the repository root, which docs/reliability/run.sh renders into docs/reliability.md.
/// </summary>
internal static class SecurityFigures
{
    private static readonly Figures All = new("security", FilePath);

    public static string FilePath => Repository.PathOf("TestResults", "security", "figures.json");

    public static void Record(string scenario, object figures) => All.Record(scenario, figures);

    /// <summary>Counts one outcome of <paramref name="scenario"/> under <paramref name="key"/> (e.g. the method) and records the scenario's table.</summary>
    public static void Tally(string scenario, string key, object outcome) => All.Tally(scenario, key, Name(outcome));

    /// <summary>Counts by status name, e.g. { "OK": 12, "InvalidArgument": 3 }.</summary>
    public static SortedDictionary<string, int> ByStatus<T>(IEnumerable<T> codes) where T : notnull => Figures.ByStatus(codes, c => Name(c));

    private static string Name(object outcome) => outcome switch
    {
        Grpc.Core.StatusCode code when code == RawGrpc.Hung => "HUNG",
        Grpc.Core.StatusCode code when code == RawGrpc.TransportFailure => "TRANSPORT_FAILURE",
        _ => outcome.ToString()!,
    };
}
