using System.CommandLine;

using Grpc.Core;

namespace Contoso.Retail.Cli;

/// <summary>Runs a command's handler and turns failures into "error: ..." (or a JSON object with --json) on stderr and an exit code.</summary>
public static class CommandRunner
{
    public static void SetHandler(this Command command, Func<CommandContext, CancellationToken, Task<int>> handler)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var context = new CommandContext(parseResult);
            try
            {
                return await handler(context, cancellationToken);
            }
            catch (RpcException ex)
            {
                context.Output.Error(ex, context.Step());
                if (ex.StatusCode == StatusCode.Unavailable)
                {
                    context.Output.Hint($"is the service running at {string.Join(" / ", context.Addresses)}? "
                        + "(the --<service> options or CONTOSO_RETAIL_<SERVICE>_URL set the addresses)");
                }
                else if (ex.StatusCode == StatusCode.Unauthenticated)
                {
                    context.Output.Hint("the service refused the token: pass one with --token or CONTOSO_RETAIL_TOKEN, or let the Cli mint one "
                        + "with the services' development key (--dev-key or CONTOSO_RETAIL_DEV_SIGNING_KEY)");
                }
                else if (ex.StatusCode == StatusCode.PermissionDenied)
                {
                    context.Output.Hint("the token lacks the scope named above: `contoso-retail token --scope <scope>` mints one with it");
                }

                return CliApp.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Output.Error(nameof(StatusCode.Cancelled), "cancelled", context.Step());
                return CliApp.Failure;
            }
            catch (UsageException ex)
            {
                context.Output.Error("Usage", ex.Message, context.Step());
                return CliApp.UsageError;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Anything else (a bad address, a refused connection outside gRPC) is one line, never a stack trace.
                context.Output.Error(nameof(StatusCode.Unknown), ex.GetBaseException().Message, context.Step());
                return CliApp.Failure;
            }
        });
    }
}

/// <summary>A value the parser accepted but the command cannot use (reported like a parse error, exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
