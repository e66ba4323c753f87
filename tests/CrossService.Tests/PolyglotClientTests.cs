using System.Text.Json;

using Contoso.Retail.Inventory;
using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// gRPC's promise is that any language speaks the same contract: a Python client generated from
/// protos/ alone (stock protoc, Debian's python3-grpcio) places an order against the real services.
/// </summary>
public class PolyglotClientTests
{
    [Fact]
    public async Task Python_client_generated_from_protos_places_an_order_and_reads_it_back()
    {
        var protoc = Tool.Require("protoc", "apt-get install protobuf-compiler");
        var plugin = Tool.Require("grpc_python_plugin", "apt-get install protobuf-compiler-grpc");
        var python = Tool.Require("/usr/bin/python3", "apt-get install python3");
        var probe = await Tool.RunAsync(python, ["-c", "import grpc"], Repository.Root, TimeSpan.FromSeconds(30));
        if (probe.ExitCode != 0)
        {
            Assert.Skip("Python gRPC is not installed (apt-get install python3-grpcio); .ci/run installs it.");
        }

        var generated = Directory.CreateTempSubdirectory("python-client-").FullName;
        try
        {
            var protos = Repository.PathOf("protos");
            var files = Directory.GetFiles(protos, "*.proto", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(protos, f));
            var codegen = await Tool.RunAsync(protoc,
                ["-I.", $"--python_out={generated}", $"--grpc_python_out={generated}", $"--plugin=protoc-gen-grpc_python={plugin}", .. files],
                protos, TimeSpan.FromMinutes(1));
            Assert.True(codegen.ExitCode == 0, codegen.Output);

            await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
            await using var inventory = await RunningService.StartAsync(Transport.Kestrel, db.Settings("Inventory"),
                b => b.AddServiceDefaults().AddInventory(), app => app.UseInventoryAsync());
            await using var ordersDb = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
            var ordersSettings = ordersDb.Settings("Orders");
            ordersSettings["Services:Inventory"] = inventory.Address.ToString();
            await using var orders = await RunningService.StartAsync(Transport.Kestrel, ordersSettings,
                b => b.AddServiceDefaults().AddOrders(), app => app.UseOrdersAsync());

            var script = Path.Combine(AppContext.BaseDirectory, "Polyglot", "place_order.py");
            var run = await Tool.RunAsync(python,
                [script, generated, orders.Address.Authority, inventory.Address.Authority, orders.Token!],
                Repository.Root, TimeSpan.FromMinutes(1));

            Assert.True(run.ExitCode == 0, run.Output);
            using var seen = JsonDocument.Parse(run.StdOut);
            var root = seen.RootElement;
            var orderId = root.GetProperty("order_id").GetString();
            Assert.False(string.IsNullOrEmpty(orderId));
            Assert.Equal(orderId, root.GetProperty("replayed_order_id").GetString());
            Assert.Equal(orderId, root.GetProperty("fetched_order_id").GetString());
            Assert.Equal("ORDER_STATUS_CONFIRMED", root.GetProperty("status").GetString());
            Assert.Equal(7, root.GetProperty("available_after").GetInt32());
            Assert.Equal("FAILED_PRECONDITION", root.GetProperty("shortage").GetProperty("code").GetString());
            Assert.True(root.GetProperty("shortage").GetProperty("details_name_sku").GetBoolean());
            Assert.Equal("UNAUTHENTICATED", root.GetProperty("without_token").GetString());
        }
        finally
        {
            Directory.Delete(generated, recursive: true);
        }
    }
}
