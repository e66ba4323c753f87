using System.CommandLine;

using Contoso.Retail.Contracts.Auth;

namespace Contoso.Retail.Cli;

/// <summary>Options every command accepts: where the services are, the per-call deadline, the output format, credentials.</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Inventory = Address("--inventory", "CONTOSO_RETAIL_INVENTORY_URL", "http://127.0.0.1:5101", "Inventory");
    public static readonly Option<string> Orders = Address("--orders", "CONTOSO_RETAIL_ORDERS_URL", "http://127.0.0.1:5102", "Orders");
    //#if (IncludeTelemetry)
    public static readonly Option<string> Telemetry = Address("--telemetry", "CONTOSO_RETAIL_TELEMETRY_URL", "http://127.0.0.1:5103", "Telemetry ingest");
    //#endif

    public static readonly Option<TimeSpan?> Timeout = new("--timeout")
    {
        Description = "Deadline for each unary call, e.g. 500ms, 10s, 2m. A stream is never cut short as a whole: it fails when this long "
            + "passes without its next message (an acknowledgement, a page of results); a watch has none. [default: 10s]",
        CustomParser = result => Durations.ParseArgument(result),
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write results as JSON (one object per line for streams), and an error as one JSON object on stderr.",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print a line per acknowledgement of a long send, instead of a progress bar on a terminal's stderr.",
        Recursive = true,
    };

    public static readonly Option<string> Token = new("--token")
    {
        Description = "Bearer token for the calls [env: CONTOSO_RETAIL_TOKEN]; "
            + "without one, a development token is minted with --dev-key and the scope each call needs.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTOSO_RETAIL_TOKEN") is { Length: > 0 } value ? value : "",
        Recursive = true,
    };

    public static readonly Option<string> DevKey = new("--dev-key")
    {
        Description = "Development signing key (base64) for minted tokens [env: CONTOSO_RETAIL_DEV_SIGNING_KEY; default: the well-known development key].",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTOSO_RETAIL_DEV_SIGNING_KEY") is { Length: > 0 } value ? value : DevTokens.DevelopmentKey,
        Recursive = true,
    };

    public static void AddTo(Command root)
    {
        root.Options.Add(Inventory);
        root.Options.Add(Orders);
        //#if (IncludeTelemetry)
        root.Options.Add(Telemetry);
        //#endif
        root.Options.Add(Timeout);
        root.Options.Add(Json);
        root.Options.Add(Verbose);
        root.Options.Add(Token);
        root.Options.Add(DevKey);
    }

    private static Option<string> Address(string name, string environmentVariable, string fallback, string service)
    {
        var option = new Option<string>(name)
        {
            Description = $"{service} gRPC address [env: {environmentVariable}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } value ? value : fallback,
            Recursive = true,
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                result.AddError($"{name} must be an http:// or https:// address, not '{value}'.");
            }
        });
        return option;
    }
}
