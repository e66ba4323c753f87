using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

using Contoso.Retail.Cli.Commands;

namespace Contoso.Retail.Cli;

/// <summary>The `contoso-retail` command line: one entry point that tests can run in-process with their own writers.</summary>
public static class CliApp
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    /// <summary>A plain Command named "contoso-retail" (a RootCommand would take the assembly's name for help text).</summary>
    public static Command BuildRootCommand()
    {
        var root = new Command("contoso-retail", "Command-line client for the Contoso.Retail services.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        GlobalOptions.AddTo(root);
        root.Subcommands.Add(ItemsCommands.Build());
        root.Subcommands.Add(OrdersCommands.Build());
        root.Subcommands.Add(StockCommands.Build());
        //#if (IncludeTelemetry)
        root.Subcommands.Add(TelemetryCommands.Build());
        //#endif
        root.Subcommands.Add(TokenCommand.Build());
        return root;
    }

    /// <returns>0 on success, 1 when a call failed, 2 for a usage error.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        var parseResult = BuildRootCommand().Parse(args);

        if (parseResult.Action is ParseErrorAction)
        {
            if (parseResult.GetResult(GlobalOptions.Json) is { Implicit: false })
            {
                new Output(stdout, stderr, json: true).Error(
                    "Usage", string.Join(" ", parseResult.Errors.Select(e => e.Message)), new FailedStep(FailedStep.CommandOf(parseResult)));
                return UsageError;
            }

            foreach (var error in parseResult.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync($"Run '{CommandPath(parseResult)} --help' for usage.");
            return UsageError;
        }

        var configuration = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // Ctrl+C is the caller's cancellationToken; errors are reported by CommandRunner, never as stack traces.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        return await parseResult.InvokeAsync(configuration, cancellationToken);
    }

    private static string CommandPath(ParseResult parseResult)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as CommandResult)
        {
            names.Insert(0, result.Command.Name);
        }

        return string.Join(' ', names);
    }
}
