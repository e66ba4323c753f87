using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>The `contoso-retail` command line, run in-process against real services on Kestrel.</summary>
public sealed partial class CliTests(CliServices services) : IClassFixture<CliServices>
{
    [Fact]
    public async Task Items_upsert_then_get_and_list_show_the_item()
    {
        var sku = NewSku();

        var upsert = await services.RunAsync("items", "upsert", sku, "--name", "Cli test lamp", "--available", "7");
        var get = await services.RunAsync("items", "get", sku);
        var list = await services.RunAsync("items", "list", "--all", "--page-size", "2");

        Assert.Equal((0, ""), (upsert.ExitCode, upsert.Error));
        Assert.StartsWith($"created {sku}  Cli test lamp", upsert.Out, StringComparison.Ordinal);
        Assert.Equal(0, get.ExitCode);
        Assert.Contains("available: 7", get.Out, StringComparison.Ordinal);
        Assert.Contains("reserved:  0", get.Out, StringComparison.Ordinal);
        Assert.Equal(0, list.ExitCode);
        Assert.Matches($@"(?m)^{sku}\s+Cli test lamp\s+7\s+0\s", list.Out);
        Assert.DoesNotContain("more: --page-token", list.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Items_get_with_json_prints_the_item_as_protobuf_json()
    {
        var sku = NewSku();
        await services.RunAsync("items", "upsert", sku, "--name", "Json lamp", "--available", "4");

        var get = await services.RunAsync("items", "get", sku, "--json");

        var item = JsonParser.Default.Parse<Item>(get.Out);
        Assert.Equal((sku, "Json lamp", 4, 0), (item.Sku, item.Name, item.Available, item.Reserved));
    }

    [Fact]
    public async Task Orders_place_confirms_and_get_list_and_cancel_show_the_order()
    {
        var (sku, customer) = (NewSku(), NewCustomer());
        await services.RunAsync("items", "upsert", sku, "--name", "Desk", "--available", "10");

        var place = await services.RunAsync("orders", "place", "--customer", customer, "--line", $"{sku}:3");
        var orderId = OrderHeader().Match(place.Out) is { Success: true } header ? header.Groups["id"].Value : "";
        var get = await services.RunAsync("orders", "get", orderId);
        var list = await services.RunAsync("orders", "list", "--customer", customer);
        var reserved = await services.RunAsync("items", "get", sku);
        var cancel = await services.RunAsync("orders", "cancel", orderId, "--reason", "test");
        var released = await services.RunAsync("items", "get", sku);

        Assert.Equal((0, ""), (place.ExitCode, place.Error));
        Assert.Equal("CONFIRMED", OrderHeader().Match(place.Out).Groups["status"].Value);
        Assert.Contains($"lines:    {sku} x3", place.Out, StringComparison.Ordinal);
        Assert.Equal(0, get.ExitCode);
        Assert.Contains($"order {orderId}  CONFIRMED", get.Out, StringComparison.Ordinal);
        Assert.Contains($"customer: {customer}", get.Out, StringComparison.Ordinal);
        Assert.Matches($@"(?m)^{orderId}\s+CONFIRMED\s+{sku} x3", list.Out);
        Assert.Contains("available: 7", reserved.Out, StringComparison.Ordinal);
        Assert.Contains($"order {orderId}  CANCELLED", cancel.Out, StringComparison.Ordinal);
        Assert.Contains("reason:   test", cancel.Out, StringComparison.Ordinal);
        Assert.Contains("available: 10", released.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orders_place_with_the_same_request_id_returns_the_same_order()
    {
        var (sku, customer, requestId) = (NewSku(), NewCustomer(), Guid.NewGuid().ToString());
        await services.RunAsync("items", "upsert", sku, "--name", "Chair", "--available", "5");

        var first = await services.RunAsync("orders", "place", "--customer", customer, "--line", $"{sku}:2", "--request-id", requestId);
        var again = await services.RunAsync("orders", "place", "--customer", customer, "--line", $"{sku}:2", "--request-id", requestId);
        var item = await services.RunAsync("items", "get", sku);

        Assert.Equal(OrderHeader().Match(first.Out).Groups["id"].Value, OrderHeader().Match(again.Out).Groups["id"].Value);
        Assert.Contains("available: 3", item.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orders_place_with_quantity_zero_fails_with_exit_1_naming_the_field()
    {
        var sku = NewSku();
        await services.RunAsync("items", "upsert", sku, "--name", "Shelf", "--available", "5");

        var place = await services.RunAsync("orders", "place", "--customer", NewCustomer(), "--line", $"{sku}:0");

        Assert.Equal(1, place.ExitCode);
        Assert.Equal("", place.Out);
        Assert.StartsWith("error: InvalidArgument: ", place.Error, StringComparison.Ordinal);
        Assert.Contains("  field lines[0].quantity: ", place.Error, StringComparison.Ordinal);
        AssertNoStackTrace(place.Error);
    }

    [Fact]
    public async Task Orders_place_beyond_stock_fails_with_exit_1_naming_the_short_sku()
    {
        var (plenty, scarce) = (NewSku(), NewSku());
        await services.RunAsync("items", "upsert", plenty, "--name", "Pens", "--available", "100");
        await services.RunAsync("items", "upsert", scarce, "--name", "Lamps", "--available", "1");

        var place = await services.RunAsync("orders", "place", "--customer", NewCustomer(), "--line", $"{plenty}:1", "--line", $"{scarce}:2");
        var untouched = await services.RunAsync("items", "get", plenty);

        Assert.Equal(1, place.ExitCode);
        Assert.StartsWith("error: FailedPrecondition: ", place.Error, StringComparison.Ordinal);
        Assert.Matches($@"(?m)^  precondition \S+ {scarce}: ", place.Error);
        Assert.DoesNotMatch($@"(?m)^  precondition \S+ {plenty}: ", place.Error);
        Assert.Contains("available: 100", untouched.Out, StringComparison.Ordinal);
        AssertNoStackTrace(place.Error);
    }

    [Fact]
    public async Task Orders_get_of_an_unknown_id_fails_with_not_found()
    {
        var get = await services.RunAsync("orders", "get", "no-such-order");

        Assert.Equal(1, get.ExitCode);
        Assert.StartsWith("error: NotFound: ", get.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orders_get_of_an_unknown_id_with_json_fails_with_one_json_object_on_stderr_saying_what_was_called()
    {
        var get = await services.RunAsync("orders", "get", "no-such-order", "--json");

        Assert.Equal((1, ""), (get.ExitCode, get.Out));
        var error = JsonSerializer.Deserialize<JsonElement>(Assert.Single(get.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries))).GetProperty("error");
        Assert.Equal("NotFound", error.GetProperty("code").GetString());
        Assert.Contains("no-such-order", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("orders get", error.GetProperty("command").GetString());
        Assert.Equal("/orders.v1.OrderService/GetOrder", error.GetProperty("call").GetString());
        Assert.Equal(services.Orders.Address.ToString().TrimEnd('/'), error.GetProperty("address").GetString());
    }

    [Fact]
    public async Task Orders_place_beyond_stock_with_json_carries_the_precondition_details_in_the_json_error()
    {
        var sku = NewSku();
        await services.RunAsync("items", "upsert", sku, "--name", "Lamps", "--available", "1");

        var place = await services.RunAsync("orders", "place", "--customer", NewCustomer(), "--line", $"{sku}:2", "--json");

        Assert.Equal((1, ""), (place.ExitCode, place.Out));
        var error = JsonSerializer.Deserialize<JsonElement>(place.Error).GetProperty("error");
        Assert.Equal("FailedPrecondition", error.GetProperty("code").GetString());
        var detail = Assert.Single(error.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.PreconditionFailure", detail.GetProperty("@type").GetString());
        Assert.Equal(sku, detail.GetProperty("violations")[0].GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Unreachable_service_with_json_fails_with_unavailable_as_json_and_its_cause()
    {
        var result = await CliServices.RunCliAsync("items", "list", "--inventory", "http://127.0.0.1:1", "--timeout", "5s", "--json");

        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        var error = JsonSerializer.Deserialize<JsonElement>(result.Error).GetProperty("error");
        Assert.Equal("Unavailable", error.GetProperty("code").GetString());
        Assert.Equal("/inventory.v1.InventoryService/ListItems", error.GetProperty("call").GetString());
        Assert.Equal("http://127.0.0.1:1", error.GetProperty("address").GetString());
        Assert.True(error.TryGetProperty("cause", out _), result.Error);
    }

    [Fact]
    public async Task Stock_watch_prints_the_current_level_then_changes_until_count()
    {
        var sku = NewSku();
        await services.RunAsync("items", "upsert", sku, "--name", "Watched", "--available", "5");
        using var stdout = new StringWriter();
        using var synchronizedOut = TextWriter.Synchronized(stdout);
        using var stderr = new StringWriter();
        var watching = Contoso.Retail.Cli.CliApp.RunAsync(
            ["stock", "watch", sku, "--count", "2", "--inventory", services.Inventory.Address.ToString()],
            synchronizedOut, stderr, TestContext.Current.CancellationToken);

        await Eventually.HoldsAsync(() => Task.FromResult(stdout.ToString().Contains(sku, StringComparison.Ordinal)), $"{sku} in the output", TimeSpan.FromSeconds(30));
        await services.RunAsync("items", "upsert", sku, "--name", "Watched", "--available", "9");
        var exitCode = await watching.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal((0, ""), (exitCode, stderr.ToString()));
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^now\s+{sku}\s+available\s+5\s+reserved\s+0\s", lines[0]);
        Assert.Matches($@"^change\s+{sku}\s+available\s+9\s+reserved\s+0\s", lines[1]);
    }

    [Fact]
    public async Task Stock_watch_ends_with_exit_0_when_cancelled_like_ctrl_c()
    {
        var sku = NewSku();
        await services.RunAsync("items", "upsert", sku, "--name", "Watched", "--available", "5");
        using var stdout = new StringWriter();
        using var synchronizedOut = TextWriter.Synchronized(stdout);
        using var stderr = new StringWriter();
        using var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var watching = Contoso.Retail.Cli.CliApp.RunAsync(
            ["stock", "watch", sku, "--inventory", services.Inventory.Address.ToString()], synchronizedOut, stderr, ctrlC.Token);

        await Eventually.HoldsAsync(() => Task.FromResult(stdout.ToString().Contains(sku, StringComparison.Ordinal)), $"{sku} in the output", TimeSpan.FromSeconds(30));
        await ctrlC.CancelAsync();
        var exitCode = await watching.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal((0, ""), (exitCode, stderr.ToString()));
    }

    //#if (IncludeTelemetry)
    [Fact]
    public async Task Telemetry_send_acknowledges_every_batch_and_query_returns_every_point()
    {
        var device = $"cli-{Guid.NewGuid():N}"[..12];

        var send = await services.RunAsync("telemetry", "send", "--device", device, "--metric", "temperature_c", "--points", "120", "--batch-size", "50", "--verbose");
        var query = await services.RunAsync("telemetry", "query", "--device", device, "--since", "1h");
        var resend = await services.RunAsync("telemetry", "send", "--device", device, "--metric", "temperature_c", "--points", "120", "--batch-size", "50");
        var requery = await services.RunAsync("telemetry", "query", "--device", device, "--metric", "temperature_c", "--limit", "1000");

        Assert.Equal((0, ""), (send.ExitCode, send.Error));
        Assert.Contains($"ack {device}-1: 50 point(s)\n", send.Out, StringComparison.Ordinal);
        Assert.Contains($"ack {device}-2: 50 point(s)\n", send.Out, StringComparison.Ordinal);
        Assert.Contains($"ack {device}-3: 20 point(s)\n", send.Out, StringComparison.Ordinal);
        Assert.Contains("3 acknowledged: 120 point(s) stored, 0 batch(es) already stored before", send.Out, StringComparison.Ordinal);
        Assert.Equal(0, query.ExitCode);
        Assert.Matches(@"(?m)^120 point\(s\)  min \S+  max \S+  mean \S+$", query.Out);
        Assert.Equal(120, query.Out.Split('\n').Count(l => l.Contains($"  {device}  temperature_c  ", StringComparison.Ordinal)));
        Assert.Contains("3 acknowledged: 0 point(s) stored, 3 batch(es) already stored before", resend.Out, StringComparison.Ordinal);
        Assert.Equal("", resend.Error);
        Assert.DoesNotContain("ack ", resend.Out, StringComparison.Ordinal); // without --verbose: the summary only (stderr is no terminal here)
        Assert.Matches(@"(?m)^120 point\(s\)  ", requery.Out);
    }

    [Fact]
    public async Task A_value_the_command_refuses_with_json_exits_2_with_a_json_usage_error()
    {
        var send = await services.RunAsync("telemetry", "send", "--device", "d", "--metric", "m", "--points", "0", "--json");

        Assert.Equal((2, ""), (send.ExitCode, send.Out));
        var error = JsonSerializer.Deserialize<JsonElement>(send.Error).GetProperty("error");
        Assert.Equal(("Usage", "telemetry send"), (error.GetProperty("code").GetString(), error.GetProperty("command").GetString()));
        Assert.StartsWith("--points and --batch-size must be at least 1", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    //#endif
    [Theory]
    [InlineData("orders", "place", "--customer", "c", "--line", "no-quantity")]
    [InlineData("orders", "place", "--line", "sku:1")]
    [InlineData("items", "list", "--timeout", "soon")]
    [InlineData("items")]
    //#if (IncludeTelemetry)
    [InlineData("telemetry", "query", "--device", "d", "--since", "1h", "--from", "2025-01-01T00:00:00Z")]
    //#endif
    [InlineData("items", "get", "x", "--inventory", "not-a-url")]
    public async Task Usage_errors_exit_2_with_an_error_line_and_no_call(params string[] args)
    {
        var result = await CliServices.RunCliAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("--help' for usage.", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("items", "list", "--timeout", "soon")]
    [InlineData("orders", "place", "--customer", "c", "--line", "no-quantity")]
    public async Task Usage_errors_with_json_exit_2_with_a_json_error_naming_the_command(params string[] args)
    {
        var result = await CliServices.RunCliAsync([.. args, "--json"]);

        Assert.Equal((2, ""), (result.ExitCode, result.Out));
        var error = JsonSerializer.Deserialize<JsonElement>(result.Error).GetProperty("error");
        Assert.Equal("Usage", error.GetProperty("code").GetString());
        Assert.Equal($"{args[0]} {args[1]}", error.GetProperty("command").GetString());
        Assert.Contains(args[^1], error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_service_fails_with_unavailable_and_no_stack_trace()
    {
        var result = await CliServices.RunCliAsync("items", "list", "--inventory", "http://127.0.0.1:1", "--timeout", "5s");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: Unavailable: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:1", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result.Error);
    }

    [Fact]
    public async Task Token_prints_a_token_the_services_accept_for_its_scopes_only()
    {
        var sku = NewSku();
        var minted = await CliServices.RunCliAsync("token", "--scope", "inventory.read", "--subject", "cli-test", "--lifetime", "10m");
        var token = minted.Out.Trim();

        var list = await services.RunAsync("items", "list", "--token", token);
        var upsert = await services.RunAsync("items", "upsert", sku, "--name", "Denied", "--available", "1", "--token", token);

        Assert.Equal((0, ""), (minted.ExitCode, minted.Error));
        Assert.Matches(@"^[\w-]+\.[\w-]+\.[\w-]+$", token);
        Assert.Equal((0, ""), (list.ExitCode, list.Error));
        Assert.Equal(1, upsert.ExitCode);
        Assert.StartsWith("error: PermissionDenied: This call requires the scope 'inventory.write'.", upsert.Error, StringComparison.Ordinal);
        Assert.Contains("contoso-retail token --scope", upsert.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_the_services_refuse_fails_with_unauthenticated_a_hint_and_without_echoing_it()
    {
        var foreign = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("a-key-the-services-have-never-seen-0123"));
        var token = (await CliServices.RunCliAsync("token", "--scope", "inventory.read", "--dev-key", foreign)).Out.Trim();

        var given = await services.RunAsync("items", "list", "--token", token);
        var minted = await services.RunAsync("items", "list", "--dev-key", foreign);

        foreach (var result in new[] { given, minted })
        {
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith("error: Unauthenticated: ", result.Error, StringComparison.Ordinal);
            Assert.Contains("--token or CONTOSO_RETAIL_TOKEN", result.Error, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(token, given.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_names_the_tool_command_that_dotnet_pack_installs()
    {
        var toolCommand = XDocument.Load(Repository.PathOf("src", "Cli", "Cli.csproj")).Descendants("ToolCommandName").Single().Value;

        var result = await CliServices.RunCliAsync("--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"{toolCommand} [command] [options]", result.Out, StringComparison.Ordinal);
    }

    private static string NewSku() => $"CLI-{Guid.NewGuid():N}"[..12].ToUpperInvariant();

    private static string NewCustomer() => $"cli-customer-{Guid.NewGuid():N}"[..20];

    private static void AssertNoStackTrace(string text) => Assert.DoesNotMatch(@"(?m)^\s+at \S+\(", text);

    [GeneratedRegex(@"^order (?<id>\S+)  (?<status>[A-Z]+)$", RegexOptions.Multiline)]
    private static partial Regex OrderHeader();
}
