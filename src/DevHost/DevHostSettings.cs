using Contoso.Retail.Contracts.Auth;

using Microsoft.Extensions.Configuration;

namespace Contoso.Retail.DevHost;

/// <summary>Where one service listens: its gRPC (HTTP/2), management (HTTP/1.1) and gRPC-Web (HTTP/1.1, for browsers) URLs.</summary>
public sealed record ServiceEndpoints(string Grpc, string Management, string Web);

/// <summary>
/// DevHost's own settings: the "DevHost" section of its appsettings.json, environment variables
/// (DevHost__DataDir, ...) and then the command line, which wins.
/// </summary>
public sealed class DevHostSettings
{
    private const string Section = "DevHost";

    private static readonly string[] ServiceNames =
    [
        "Inventory",
        "Orders",
        //#if (IncludeTelemetry)
        "Telemetry",
        //#endif
    ];

    public bool Demo { get; private init; }

    public bool ShowHelp { get; private init; }

    public required string ContentRoot { get; init; }

    public required string EnvironmentName { get; init; }

    public bool IsDevelopment => string.Equals(EnvironmentName, Environments.Development, StringComparison.OrdinalIgnoreCase);

    public required string DataDir { get; init; }

    /// <summary>True when DataDir is a throwaway folder the DevHost created and deletes on exit.</summary>
    public bool TemporaryDataDir { get; private init; }

    public required ServiceEndpoints Inventory { get; init; }

    public required ServiceEndpoints Orders { get; init; }

    //#if (IncludeTelemetry)
    public required ServiceEndpoints Telemetry { get; init; }

    //#endif
    /// <summary>Where the browser page is served (DevHost:Page:Url).</summary>
    public required string PageUrl { get; init; }

    /// <summary>The built page (DevHost:Page:Root, default clients/web/dist above the content root); null when not built.</summary>
    public string? PageRoot { get; init; }

    /// <summary>Auth:DevSigningKey, Auth:Issuer and Auth:Audience as the services see them (appsettings.Development.json).</summary>
    public string? DevSigningKey { get; private init; }

    public string Issuer { get; private init; } = DevTokens.DefaultIssuer;

    public string Audience { get; private init; } = DevTokens.DefaultAudience;

    /// <summary>A token the services accept, for the demo's own calls; fails if they are not on a development key.</summary>
    public string MintToken(string subject, IEnumerable<string> scopes, TimeSpan lifetime) => DevTokens.Mint(
        DevSigningKey ?? throw new InvalidOperationException("Auth:DevSigningKey is not configured, so DevHost cannot mint tokens."),
        Issuer, Audience, subject, scopes, lifetime);

    /// <exception cref="ArgumentException">An argument DevHost does not know, or a switch without a value.</exception>
    public static DevHostSettings Load(string[] args, string contentRoot)
    {
        ArgumentNullException.ThrowIfNull(args);
        var arguments = DevHostCommandLine.Parse(args);
        var (demo, values) = (arguments.Demo, arguments.Settings);
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? "Development";

        var configuration = new ConfigurationBuilder()
            .SetBasePath(contentRoot)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(demo || arguments.FreePorts ? FreePorts() : [])
            .AddInMemoryCollection(values)
            .Build();
        var section = configuration.GetSection(Section);

        // The demo starts from a clean slate unless told where its data lives.
        var temporary = demo && !values.ContainsKey($"{Section}:DataDir");
        var dataDir = temporary
            ? Path.Combine(Path.GetTempPath(), $"contoso-retail-devhost-{Guid.NewGuid():N}")
            : Path.GetFullPath(section["DataDir"] ?? "data", contentRoot);

        return new DevHostSettings
        {
            Demo = demo,
            ShowHelp = arguments.Help,
            ContentRoot = contentRoot,
            EnvironmentName = environment,
            DataDir = dataDir,
            TemporaryDataDir = temporary,
            Inventory = Endpoints(section, "Inventory", 5101),
            Orders = Endpoints(section, "Orders", 5102),
            //#if (IncludeTelemetry)
            Telemetry = Endpoints(section, "Telemetry", 5103),
            //#endif
            PageUrl = section["Page:Url"] ?? "http://127.0.0.1:5100",
            PageRoot = section["Page:Root"] is { } root ? Path.GetFullPath(root, contentRoot) : WebPage.FindBuiltPage(contentRoot),
            DevSigningKey = configuration["Auth:DevSigningKey"],
            Issuer = configuration["Auth:Issuer"] ?? DevTokens.DefaultIssuer,
            Audience = configuration["Auth:Audience"] ?? DevTokens.DefaultAudience,
        };
    }

    private static ServiceEndpoints Endpoints(IConfigurationSection section, string service, int grpcPort) => new(
        section[$"{service}:Grpc"] ?? $"http://127.0.0.1:{grpcPort}",
        section[$"{service}:Management"] ?? $"http://127.0.0.1:{grpcPort + 10}",
        section[$"{service}:Web"] ?? $"http://127.0.0.1:{grpcPort + 20}");

    private static Dictionary<string, string?> FreePorts() => ServiceNames
        .SelectMany(s => new[] { $"{Section}:{s}:Grpc", $"{Section}:{s}:Management", $"{Section}:{s}:Web" })
        .Append($"{Section}:Page:Url")
        .ToDictionary(key => key, _ => (string?)"http://127.0.0.1:0");
}
