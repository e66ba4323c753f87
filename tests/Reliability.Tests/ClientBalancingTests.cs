using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// Services:{name} as dns:/// or static:/// targets: round-robin over every address, a failing replica's calls
/// retried on another, and retries that never multiply (the interceptor retries, the channel does not).
/// </summary>
public sealed class ClientBalancingTests
{
    [Theory]
    [InlineData("http://inventory:5101", false)]
    [InlineData("https://inventory.example:443", false)]
    [InlineData("dns:///inventory-headless.contoso-retail.svc.cluster.local:5101", true)]
    [InlineData("static:///127.0.0.1:5101,127.0.0.1:5201", true)]
    [InlineData("static:///[::1]:5101,inventory-0:5101", true)]
    public void Valid_service_addresses_are_accepted_and_dns_or_static_ones_are_balanced(string address, bool balanced)
    {
        var uri = GrpcClients.ServiceAddress(address, "Inventory");

        Assert.Equal(balanced, GrpcClients.IsBalanced(uri));
    }

    [Fact]
    public void A_static_list_resolves_to_its_addresses_in_order()
    {
        var addresses = GrpcClients.StaticAddresses(GrpcClients.ServiceAddress("static:///127.0.0.1:5101, [::1]:5201,inventory-0:5301", "Inventory"));

        Assert.Equal(
            ["127.0.0.1:5101", "::1:5201", "inventory-0:5301"],
            addresses.Select(a => $"{a.EndPoint.Host}:{a.EndPoint.Port}"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("inventory:5101")]
    [InlineData("dns:///inventory")]
    [InlineData("dns://resolver-host/inventory:5101")]
    [InlineData("static:///")]
    [InlineData("static:///127.0.0.1:5101,")]
    [InlineData("static:///127.0.0.1:99999")]
    [InlineData("static:///127.0.0.1:x")]
    [InlineData("consul:///inventory:5101")]
    public void Malformed_service_addresses_are_refused_naming_the_setting_and_the_accepted_forms(string? address)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => GrpcClients.ServiceAddress(address, "Inventory"));

        Assert.Contains(ServiceHosts.InventoryAddressKey, ex.Message, StringComparison.Ordinal);
        Assert.Contains("dns:///host:port", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_to_a_static_list_of_two_instances_go_round_robin_to_both()
    {
        await using var pair = await ReplicaPair.StartAsync();
        await using var client = await BalancedClient.StartAsync($"static:///127.0.0.1:{pair.A.Address.Port},127.0.0.1:{pair.B.Address.Port}");
        var (a0, b0) = await ConnectToBothAsync(pair, client);

        for (var i = 0; i < 40; i++)
        {
            await client.Inventory.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct);
        }

        // Both connections ready, one call at a time: round robin alternates, so each replica gets exactly half.
        Assert.Equal(20, pair.CounterA["GetItem"] - a0);
        Assert.Equal(20, pair.CounterB["GetItem"] - b0);
    }

    [Fact]
    public async Task A_dns_target_reaches_the_service_at_every_address_the_name_resolves_to()
    {
        await using var pair = await ReplicaPair.StartAsync();
        // localhost may also resolve to ::1, where nothing listens: that address stays out of the rotation.
        await using var client = await BalancedClient.StartAsync($"dns:///localhost:{pair.A.Address.Port}");

        for (var i = 0; i < 10; i++)
        {
            await client.Inventory.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct);
        }

        Assert.Equal(10, pair.CounterA["GetItem"]);
    }

    [Fact]
    public async Task Calls_that_fail_UNAVAILABLE_on_one_replica_succeed_on_the_other()
    {
        await using var pair = await ReplicaPair.StartAsync();
        await using var client = await BalancedClient.StartAsync($"static:///127.0.0.1:{pair.A.Address.Port},127.0.0.1:{pair.B.Address.Port}");
        var (a0, b0) = await ConnectToBothAsync(pair, client);
        pair.CounterA.FailWithUnavailable = true;

        for (var i = 0; i < 40; i++)
        {
            await client.Inventory.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct);
        }

        // Every call ends on B; each call tried A at most once before its retry was picked onto B.
        Assert.Equal(40, pair.CounterB["GetItem"] - b0);
        Assert.InRange(pair.CounterA["GetItem"] - a0, 1, 40);
    }

    [Fact]
    public async Task A_call_failing_on_every_replica_makes_exactly_the_configured_attempts()
    {
        await using var pair = await ReplicaPair.StartAsync();
        await using var client = await BalancedClient.StartAsync($"static:///127.0.0.1:{pair.A.Address.Port},127.0.0.1:{pair.B.Address.Port}");
        pair.CounterA.FailWithUnavailable = true;
        pair.CounterB.FailWithUnavailable = true;

        await RpcAssert.ThrowsAsync(StatusCode.Unavailable, () => client.Inventory.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct).ResponseAsync);

        // GrpcClients:Retry:MaxAttempts is 4: the interceptor's attempts, none added by the channel.
        Assert.Equal(4, pair.CounterA["GetItem"] + pair.CounterB["GetItem"]);
    }

    /// <summary>
    /// Until both connections are ready the picker has only one replica to offer (on a loaded machine for many calls),
    /// so call until each replica has answered one, and return the counts to measure from.
    /// </summary>
    private static async Task<(int A, int B)> ConnectToBothAsync(ReplicaPair pair, BalancedClient client)
    {
        for (var i = 0; i < 1000 && (pair.CounterA["GetItem"] == 0 || pair.CounterB["GetItem"] == 0); i++)
        {
            await client.Inventory.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, cancellationToken: Ct);
        }

        Assert.True(pair.CounterA["GetItem"] > 0 && pair.CounterB["GetItem"] > 0, "The client never reached both replicas.");
        return (pair.CounterA["GetItem"], pair.CounterB["GetItem"]);
    }

    /// <summary>Two Inventory instances on one SQLite database, each counting the calls it gets.</summary>
    private sealed class ReplicaPair : IAsyncDisposable
    {
        private readonly TestDatabase _db;

        private ReplicaPair(TestDatabase db, RunningService a, RunningService b, CallCounter counterA, CallCounter counterB)
        {
            _db = db;
            A = a;
            B = b;
            CounterA = counterA;
            CounterB = counterB;
        }

        public RunningService A { get; }

        public RunningService B { get; }

        public CallCounter CounterA { get; }

        public CallCounter CounterB { get; }

        public static async Task<ReplicaPair> StartAsync()
        {
            var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
            var counterA = new CallCounter();
            var counterB = new CallCounter();
            var a = await StartInventoryAsync(db.Settings("Inventory"), counterA);
            var b = await StartInventoryAsync(db.Settings("Inventory"), counterB);
            await a.StockAsync(new Dictionary<string, int> { ["KB-001"] = 5 });
            return new ReplicaPair(db, a, b, counterA, counterB);
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await _db.DisposeAsync();
        }
    }

    /// <summary>A host with the production Inventory client (AddServiceGrpcClient) pointed at a balanced target.</summary>
    private sealed class BalancedClient(IHost host) : IAsyncDisposable
    {
        public InventoryService.InventoryServiceClient Inventory => host.Services.GetRequiredService<InventoryService.InventoryServiceClient>();

        public static async Task<BalancedClient> StartAsync(string target)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [ServiceHosts.InventoryAddressKey] = target,
                ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
                ["GrpcClients:DefaultDeadline"] = "00:00:30",
                ["GrpcClients:Retry:BaseDelay"] = "00:00:00.010",
                ["GrpcClients:CircuitBreaker:MinimumThroughput"] = "1000",
            });
            builder.AddDefaultAuth();
            builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory");
            var host = builder.Build();
            await host.StartAsync(Ct);
            return new BalancedClient(host);
        }

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
        }
    }
}
