using System.CommandLine;

using Contoso.Retail.Contracts.Inventory.V1;

using Grpc.Core;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail stock watch`: the inventory's WatchStock stream.</summary>
public static class StockCommands
{
    public static Command Build() => new("stock", "Follow stock levels.")
    {
        Watch(),
    };

    private static Command Watch()
    {
        var skus = new Argument<string[]>("sku") { Description = "Items to watch (none: every item).", Arity = ArgumentArity.ZeroOrMore };
        var count = new Option<int>("--count") { Description = "Stop after this many messages (default: until Ctrl+C)." };
        var command = new Command("watch", "Print current stock levels, then every change, until Ctrl+C or --count messages.") { skus, count };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var limit = context.Get(count);
            var request = new WatchStockRequest { Skus = { context.Get(skus) ?? [] } };

            // No deadline: a watch runs until the user stops it.
            using var call = context.Inventory().WatchStock(request, cancellationToken: cancellationToken);
            var received = 0;
            try
            {
                await foreach (var change in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    context.Output.Stock(change);
                    if (limit > 0 && ++received >= limit)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested
                && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // Ctrl+C is how a watch is meant to end.
            }

            return CliApp.Success;
        });
        return command;
    }
}
