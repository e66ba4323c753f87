using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>
/// The first calls of a burst to a balanced target: the client factory creates the channel on first use, and concurrent
/// first uses each built one on the same pooled handler, all but the first throwing (Orders answered INTERNAL).
/// </summary>
public sealed class ChannelWarmUpTests
{
    [Theory]
    [InlineData("static:///127.0.0.1:9,127.0.0.1:10")]
    [InlineData("dns:///localhost:9")]
    public async Task A_started_host_hands_concurrent_first_callers_one_channel(string target)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Services:Inventory"] = target,
            ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
        });
        builder.AddDefaultAuth();
        var channelsCreated = 0;
        builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory")
            .ConfigureChannel(_ => Interlocked.Increment(ref channelsCreated));
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        // Created as the host started, before any caller asked (the race needs two creations at once; it is rare).
        Assert.Equal(1, Volatile.Read(ref channelsCreated));

        // Dedicated threads released together (a thread-pool burst would trickle in on two cores).
        const int Callers = 16;
        using var gate = new ManualResetEventSlim();
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, Callers).Select(caller => new Thread(() =>
        {
            gate.Wait();
            try
            {
                using var scope = host.Services.CreateScope();
                _ = scope.ServiceProvider.GetRequiredService<InventoryService.InventoryServiceClient>();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        gate.Set();
        threads.ForEach(t => t.Join());

        Assert.True(failures.IsEmpty, $"{failures.Count} of {Callers} first callers failed: {failures.FirstOrDefault()?.Message}");
        Assert.Equal(1, Volatile.Read(ref channelsCreated));
        await host.StopAsync(TestContext.Current.CancellationToken);
    }
}
