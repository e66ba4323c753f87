using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

using Contoso.Retail.Contracts.Orders.V1;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail orders place|get|list|cancel`.</summary>
public static class OrdersCommands
{
    public static Command Build() => new("orders", "Place, show, list and cancel orders.")
    {
        Place(),
        Get(),
        List(),
        Cancel(),
    };

    private static Command Place()
    {
        var customer = new Option<string>("--customer") { Description = "Customer id.", Required = true };
        var lines = new Option<List<OrderLine>>("--line")
        {
            Description = "SKU:QTY, once per line of the order.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
            CustomParser = ParseLines,
        };
        var requestId = new Option<string>("--request-id")
        {
            Description = "Idempotency key; send the same one again to retry safely. [default: a new GUID]",
        };
        var command = new Command("place", "Place an order; its stock is reserved in the inventory.") { customer, lines, requestId };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var request = new PlaceOrderRequest
            {
                RequestId = context.Get(requestId) ?? Guid.NewGuid().ToString(),
                CustomerId = context.Get(customer),
                Lines = { context.Get(lines)! },
            };
            var response = await context.Orders().PlaceOrderAsync(request, deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Order(response.Order);
            return CliApp.Success;
        });
        return command;
    }

    private static Command Get()
    {
        var orderId = new Argument<string>("order-id") { Description = "The order's id." };
        var command = new Command("get", "Show one order.") { orderId };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var response = await context.Orders().GetOrderAsync(
                new GetOrderRequest { OrderId = context.Get(orderId) }, deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Order(response.Order);
            return CliApp.Success;
        });
        return command;
    }

    private static Command List()
    {
        var customer = new Option<string>("--customer") { Description = "Customer id.", Required = true };
        var pageSize = new Option<int>("--page-size") { Description = "Orders per page (1-1000; default: the server's)." };
        var pageToken = new Option<string>("--page-token") { Description = "Continue from a previous page." };
        var command = new Command("list", "List a customer's orders, newest first.") { customer, pageSize, pageToken };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var request = new ListOrdersRequest
            {
                CustomerId = context.Get(customer),
                PageSize = context.Get(pageSize),
                PageToken = context.Get(pageToken) ?? "",
            };
            var page = await context.Orders().ListOrdersAsync(request, deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Orders(page);
            return CliApp.Success;
        });
        return command;
    }

    private static Command Cancel()
    {
        var orderId = new Argument<string>("order-id") { Description = "The order's id." };
        var reason = new Option<string>("--reason") { Description = "Why it is cancelled." };
        var command = new Command("cancel", "Cancel a confirmed order and give its stock back.") { orderId, reason };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var response = await context.Orders().CancelOrderAsync(
                new CancelOrderRequest { OrderId = context.Get(orderId), Reason = context.Get(reason) ?? "" },
                deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Order(response.Order);
            return CliApp.Success;
        });
        return command;
    }

    /// <summary>SKU:QTY tokens. Only the shape is checked here; the service judges the values (e.g. quantity 0).</summary>
    private static List<OrderLine> ParseLines(ArgumentResult result)
    {
        var lines = new List<OrderLine>();
        foreach (var token in result.Tokens)
        {
            var separator = token.Value.LastIndexOf(':');
            if (separator <= 0 || !int.TryParse(token.Value[(separator + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var quantity))
            {
                result.AddError($"--line '{token.Value}' must look like SKU:QTY, e.g. sku-123:2.");
                continue;
            }

            lines.Add(new OrderLine { Sku = token.Value[..separator], Quantity = quantity });
        }

        return lines;
    }
}
