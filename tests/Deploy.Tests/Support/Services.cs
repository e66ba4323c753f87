using System.Text.Json;
using System.Text.RegularExpressions;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Deploy.Tests.Support;

/// <summary>
/// One deployable service as the code defines it: its project, the ports its appsettings.json binds, the
/// configuration keys it reads. The deployment files are checked against this, never the other way round.
/// </summary>
/// <param name="Name">The deployment name: Kubernetes Deployment, compose service, Dockerfile target, image suffix.</param>
/// <param name="Project">The folder and project name under src/.</param>
/// <param name="Database">The connection string name (ConnectionStrings:{Database}).</param>
public sealed record DeployedService(string Name, string Project, string Database)
{
    public static readonly DeployedService Inventory = new("inventory", "Inventory", "Inventory");

    public static readonly DeployedService Orders = new("orders", "Orders", "Orders");

    //#if (IncludeTelemetry)
    public static readonly DeployedService TelemetryIngest = new("telemetry-ingest", "TelemetryIngest", "Telemetry");

    //#endif
    /// <summary>The services that exist in this solution (a template instance may have dropped one).</summary>
    public static IReadOnlyList<DeployedService> All { get; } =
        new[]
        {
            Inventory,
            Orders,
            //#if (IncludeTelemetry)
            TelemetryIngest,
            //#endif
        }.Where(s => Directory.Exists(Repository.PathOf("src", s.Project))).ToArray();

    public static DeployedService ByName(string name) =>
        All.SingleOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"No service named '{name}'.");

    public string Image => $"contoso-retail/{Name}";

    public string AssemblyName => $"Contoso.Retail.{Project}";

    public AppSettings Settings => AppSettings.For(Project);

    public int GrpcPort => Settings.EndpointPort("Grpc");

    public int ManagementPort => Settings.EndpointPort("Management");

    /// <summary>HTTP/1.1: REST/JSON (transcoding) and gRPC-Web.</summary>
    public int WebPort => Settings.EndpointPort("Web");

    public override string ToString() => Name;
}

/// <summary>A service's appsettings.json, flattened into configuration keys ("Kestrel:Endpoints:Grpc:Url").</summary>
public sealed class AppSettings
{
    private static readonly Dictionary<string, AppSettings> Cache = [];

    private AppSettings(Dictionary<string, string> values) => Values = values;

    public IReadOnlyDictionary<string, string> Values { get; }

    public static AppSettings For(string project)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(project, out var settings))
            {
                using var json = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("src", project, "appsettings.json")));
                var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                Flatten(json.RootElement, "", values);
                Cache[project] = settings = new AppSettings(values);
            }

            return settings;
        }
    }

    public int EndpointPort(string endpoint) =>
        new Uri(Values[$"Kestrel:Endpoints:{endpoint}:Url"].Replace("+", "localhost", StringComparison.Ordinal)).Port;

    private static void Flatten(JsonElement element, string prefix, Dictionary<string, string> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}", values);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:{index++}", values);
                }

                break;
            default:
                values[prefix] = element.ToString();
                break;
        }
    }
}

/// <summary>
/// The settings a deployment may set: every key in the service's appsettings.json, plus the ones listed in the
/// table of deploy/README.md ("What each service reads"). Anything else - a typo above all - is refused.
/// </summary>
public static partial class KnownSettings
{
    private static readonly Lazy<IReadOnlyList<(string Key, string Services)>> Documented = new(ReadDocumented);

    /// <summary>The environment variable names documented in deploy/README.md, with the services they apply to.</summary>
    public static IReadOnlyList<(string Key, string Services)> DocumentedKeys => Documented.Value;

    /// <summary>Why <paramref name="environmentName"/> is not something <paramref name="service"/> reads, or null when it is.</summary>
    public static string? Problem(DeployedService service, string environmentName)
    {
        var key = environmentName.Replace("__", ":", StringComparison.Ordinal);
        if (service.Settings.Values.ContainsKey(key))
        {
            return null;
        }

        var documented = DocumentedKeys.Where(entry => entry.Key == environmentName).ToList();
        if (documented.Count == 0)
        {
            return $"{service}: '{environmentName}' is neither a key of src/{service.Project}/appsettings.json nor listed in deploy/README.md";
        }

        return documented.Any(entry => entry.Services is "all" || entry.Services.Split(',', StringSplitOptions.TrimEntries).Contains(service.Name))
            ? null
            : $"{service}: '{environmentName}' is documented for {documented[0].Services} only";
    }

    private static List<(string Key, string Services)> ReadDocumented()
    {
        // Rows of the settings table: | `Name` | services | example | meaning |
        var rows = new List<(string, string)>();
        foreach (var line in File.ReadLines(Repository.PathOf("deploy", "README.md")))
        {
            if (SettingRow().Match(line) is { Success: true } match)
            {
                rows.Add((match.Groups["key"].Value, match.Groups["services"].Value.Trim()));
            }
        }

        return rows;
    }

    [GeneratedRegex(@"^\|\s*`(?<key>[A-Za-z0-9_]+)`\s*\|\s*(?<services>[a-z, -]+?)\s*\|")]
    private static partial Regex SettingRow();
}
