using System.CommandLine;
using System.CommandLine.Parsing;

namespace Contoso.Retail.Cli;

/// <summary>What the Cli was doing when it failed: the command, and the last call it made (if any) and where.</summary>
/// <param name="Command">The command as typed, without the tool's name, e.g. "orders place".</param>
/// <param name="Call">The method's full name, e.g. "/orders.v1.OrderService/PlaceOrder".</param>
public sealed record FailedStep(string Command, string? Call = null, string? Address = null)
{
    /// <summary>The parsed command's path below the root, e.g. "orders place".</summary>
    public static string CommandOf(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            names.Insert(0, result.Command.Name);
        }

        return string.Join(' ', names);
    }
}
