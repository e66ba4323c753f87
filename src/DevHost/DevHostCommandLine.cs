using System.CommandLine;

namespace Contoso.Retail.DevHost;

/// <summary>DevHost's command line, parsed with System.CommandLine like the Cli's: switches, then any --DevHost:key=value.</summary>
public static class DevHostCommandLine
{
    public const string Usage = """
        Runs the services in one process on SQLite, with sample data.

        Usage: dotnet run --project src/DevHost -- [options]

          --demo                 Run a short scenario against the running services, then exit
                                 (fresh temporary data folder and free ports unless given below).
          --data-dir <path>      Folder for the SQLite files [default: <content root>/data].
          --inventory <url>      Inventory gRPC URL [default: http://127.0.0.1:5101].
          --orders <url>         Orders gRPC URL [default: http://127.0.0.1:5102].
        """ + "\n" +
        //#if (IncludeTelemetry)
        """
          --telemetry <url>      Telemetry ingest gRPC URL [default: http://127.0.0.1:5103].
        """ + "\n" +
        //#endif
        """
          --page <url>           Where the browser page is served [default: http://127.0.0.1:5100];
                                 the services' gRPC-Web endpoints are on 5121-5123 (--DevHost:<Service>:Web).
          --free-ports           Listen on free ports (port 0) instead of the configured ones.
          --DevHost:<key>=<v>    Any DevHost setting, e.g. --DevHost:Orders:Management=http://127.0.0.1:6112
          -h, --help             Show this help.

        Each service prints "ready <service> <gRPC URL>" once it serves, then "rest <service> <URL>" (its
        REST/JSON routes and /openapi/v1.json), then "web page <URL>" for the browser client (built with: npm --prefix clients/web ci && npm --prefix clients/web run build).
        Ctrl+C stops them all.
        """;

    private const string Prefix = "--DevHost:";

    /// <summary>Each value switch and the DevHost setting it sets.</summary>
    private static readonly Dictionary<string, string> Settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--data-dir"] = "DevHost:DataDir",
        ["--inventory"] = "DevHost:Inventory:Grpc",
        ["--orders"] = "DevHost:Orders:Grpc",
        //#if (IncludeTelemetry)
        ["--telemetry"] = "DevHost:Telemetry:Grpc",
        //#endif
        ["--page"] = "DevHost:Page:Url",
    };

    private static readonly string[] Flags = ["--demo", "--free-ports", "--help", "-h"];

    /// <summary>What the command line asked for: flags, and settings that override DevHost's configuration.</summary>
    public sealed record Arguments(bool Demo, bool FreePorts, bool Help, Dictionary<string, string?> Settings);

    /// <exception cref="ArgumentException">An argument DevHost does not know, or a switch without a value.</exception>
    public static Arguments Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var demo = new Option<bool>("--demo");
        var freePorts = new Option<bool>("--free-ports");
        var help = new Option<bool>("--help", "-h");
        var values = Settings.Keys.ToDictionary(name => name, name => new Option<string>(name), StringComparer.OrdinalIgnoreCase);

        // Any --DevHost:key=value is left unmatched and read below; anything else unmatched is an error.
        var command = new Command("devhost") { TreatUnmatchedTokensAsErrors = false };
        command.Options.Add(demo);
        command.Options.Add(freePorts);
        command.Options.Add(help);
        foreach (var option in values.Values)
        {
            command.Options.Add(option);
        }

        var result = command.Parse(Canonical(args));
        if (result.Errors.Count > 0)
        {
            throw new ArgumentException($"{result.Errors[0].Message} (see --help)");
        }

        var settings = DevHostSettingsFrom(result.UnmatchedTokens);
        foreach (var (name, option) in values)
        {
            if (result.GetResult(option) is not null)
            {
                settings[Settings[name]] = result.GetValue(option);
            }
        }

        return new Arguments(result.GetValue(demo), result.GetValue(freePorts), result.GetValue(help), settings);
    }

    /// <summary>Switch names as declared, whatever their case (they were always case-insensitive); a switch with no value fails here.</summary>
    private static string[] Canonical(string[] args)
    {
        var canonical = (string[])args.Clone();
        for (var i = 0; i < canonical.Length; i++)
        {
            var arg = canonical[i];
            var name = arg.Split('=', 2)[0];
            if (Flags.FirstOrDefault(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase)) is { } flag)
            {
                canonical[i] = flag;
            }
            else if (Settings.Keys.FirstOrDefault(s => string.Equals(s, name, StringComparison.OrdinalIgnoreCase)) is { } setting)
            {
                if (name.Length == arg.Length && i + 1 >= canonical.Length)
                {
                    throw new ArgumentException($"{name} needs a value (see --help)");
                }

                canonical[i] = setting + arg[name.Length..];
                i += name.Length == arg.Length ? 1 : 0;
            }
        }

        return canonical;
    }

    /// <summary>--DevHost:key=value and --DevHost:key value, in order; any other token is an unknown argument.</summary>
    private static Dictionary<string, string?> DevHostSettingsFrom(IReadOnlyList<string> tokens)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var (name, value) = token.Split('=', 2) is [var n, var v] ? (n, v) : (token, null);
            if (!name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"unknown argument '{token}' (see --help)");
            }

            if (value is null)
            {
                if (i + 1 >= tokens.Count)
                {
                    throw new ArgumentException($"{name} needs a value (see --help)");
                }

                value = tokens[++i];
            }

            settings[name[2..]] = value;
        }

        return settings;
    }
}
