using System.CommandLine;

using Contoso.Retail.Contracts.Inventory.V1;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail items list|get|upsert`: the inventory's items.</summary>
public static class ItemsCommands
{
    public static Command Build() => new("items", "List, show and change inventory items.")
    {
        List(),
        Get(),
        Upsert(),
    };

    private static Command List()
    {
        var pageSize = new Option<int>("--page-size") { Description = "Items per page (1-1000; default: the server's)." };
        var pageToken = new Option<string>("--page-token") { Description = "Continue from a previous page." };
        var all = new Option<bool>("--all") { Description = "Follow every page." };
        var command = new Command("list", "List items by SKU, one page at a time.") { pageSize, pageToken, all };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var client = context.Inventory();
            var request = new ListItemsRequest { PageSize = context.Get(pageSize), PageToken = context.Get(pageToken) ?? "" };
            var items = new List<Item>();
            while (true)
            {
                var page = await client.ListItemsAsync(request, deadline: context.Deadline(), cancellationToken: cancellationToken);
                items.AddRange(page.Items);
                if (!context.Get(all) || page.NextPageToken.Length == 0)
                {
                    context.Output.Items(items, page.NextPageToken);
                    return CliApp.Success;
                }

                request.PageToken = page.NextPageToken;
            }
        });
        return command;
    }

    private static Command Get()
    {
        var sku = new Argument<string>("sku") { Description = "The item's SKU." };
        var command = new Command("get", "Show one item.") { sku };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var response = await context.Inventory().GetItemAsync(
                new GetItemRequest { Sku = context.Get(sku) }, deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Item(response.Item);
            return CliApp.Success;
        });
        return command;
    }

    private static Command Upsert()
    {
        var sku = new Argument<string>("sku") { Description = "The item's SKU." };
        var name = new Option<string>("--name") { Description = "Display name.", Required = true };
        var available = new Option<int>("--available") { Description = "Units available after the call.", Required = true };
        var command = new Command("upsert", "Create an item or set its name and available quantity.") { sku, name, available };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var response = await context.Inventory().UpsertItemAsync(
                new UpsertItemRequest { Sku = context.Get(sku), Name = context.Get(name), Available = context.Get(available) },
                deadline: context.Deadline(), cancellationToken: cancellationToken);
            context.Output.Item(response.Item, response.Created);
            return CliApp.Success;
        });
        return command;
    }
}
