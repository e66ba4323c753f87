using System.Diagnostics;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;

using Npgsql;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// PostgreSQL cut off under load, without touching the shared server: Inventory reaches its database through a
/// <see cref="FaultProxy"/> that starts refusing (and resets open connections), then lets it through again.
/// </summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    [Trait("Category", "Long")]
    public async Task Losing_PostgreSQL_under_load_turns_readiness_NOT_SERVING_and_calls_UNAVAILABLE_and_both_recover_when_it_returns()
    {
        var figures = FiguresOf("database-outage-postgres");
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Postgres);
        var direct = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var link = FaultProxy.Start(direct.Port);
        var settings = db.Settings("Inventory");
        // Fail fast while the database is away rather than queue on the pool for the default 15 s.
        settings["ConnectionStrings:Inventory"] = new NpgsqlConnectionStringBuilder(db.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = link.Port,
            Timeout = 3,
        }.ConnectionString;
        await using var inventory = await StartInventoryAsync(settings);
        await inventory.StockAsync(new Dictionary<string, int> { ["KB-001"] = 1_000_000 });
        var client = inventory.InventoryClient();
        var health = new Health.HealthClient(inventory.Channel);
        var phase = "before";
        var reservation = 0;
        var callDeadline = TimeSpan.FromSeconds(5);

        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var load = Load.RunUntilAsync(4, async (worker, ct) =>
            {
                var id = Interlocked.Increment(ref reservation);
                var (status, _) = await Load.TimedAsync(async () =>
                {
                    await client.GetItemAsync(new GetItemRequest { Sku = "KB-001" }, deadline: DateTime.UtcNow + callDeadline, cancellationToken: ct);
                    await client.ReserveStockAsync(
                        new ReserveStockRequest { ReservationId = $"r-{id}", Lines = { new ReservationLine { Sku = "KB-001", Quantity = 1 } } },
                        deadline: DateTime.UtcNow + callDeadline, cancellationToken: ct);
                });
                if (ct.IsCancellationRequested)
                {
                    return;
                }

                figures.Outcome($"calls.{Volatile.Read(ref phase)}", status);
                await Task.Delay(status == StatusCode.OK ? 5 : 50, CancellationToken.None);
            }, stop.Token);

            await Eventually.HoldsAsync(() => Task.FromResult(figures.Count("calls.before.ok") >= 50), "calls before the outage", TimeSpan.FromSeconds(60), PollInterval);
            Assert.Equal(ServingStatus.Serving, await CheckAsync(health));

            Volatile.Write(ref phase, "outage");
            var outage = Stopwatch.StartNew();
            link.Fault = Fault.Refuse;
            var notServing = await Eventually.HoldsAsync(async () => await CheckAsync(health) == ServingStatus.NotServing, "readiness NOT_SERVING", TimeSpan.FromSeconds(30), PollInterval);
            figures.Duration("readiness_not_serving_after", notServing);
            await Eventually.HoldsAsync(() => Task.FromResult(figures.Count("calls.outage.UNAVAILABLE") >= 10), "calls failing during the outage", TimeSpan.FromSeconds(30), PollInterval);
            var liveness = await CheckAsync(health, ServiceDefaults.Health.LivenessService);

            // Hold the outage a while: the figures should show a steady failure mode, not only the first second.
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);

            Volatile.Write(ref phase, "recovering");
            link.Fault = Fault.None;
            var outageLength = outage.Elapsed;
            var restored = Stopwatch.StartNew();
            var serving = await Eventually.HoldsAsync(async () => await CheckAsync(health) == ServingStatus.Serving, "readiness SERVING again", TimeSpan.FromSeconds(60), PollInterval);
            await Eventually.HoldsAsync(() => Task.FromResult(figures.Count("calls.recovering.ok") >= 1), "a call to succeed again", TimeSpan.FromSeconds(60), PollInterval);
            figures.Duration("first_ok_call_after_restore", restored.Elapsed);
            figures.Duration("readiness_serving_after_restore", serving);
            figures.Duration("outage", outage.Elapsed - restored.Elapsed);
            Volatile.Write(ref phase, "after");
            await Eventually.HoldsAsync(() => Task.FromResult(figures.Count("calls.after.ok") >= 50), "calls after recovery", TimeSpan.FromSeconds(60), PollInterval);
            await stop.CancelAsync();
            await load;
            figures.Set("proxy", link.Counters);

            Assert.Equal(ServingStatus.Serving, liveness);
            // Exactly the clear statuses: UNAVAILABLE while the database is away, and DEADLINE_EXCEEDED only when the
            // outage outlasted a call's deadline (a refused database fails a call at once, it does not hold it).
            string[] allowed = outageLength > callDeadline
                ? [Figures.StatusName(StatusCode.Unavailable), Figures.StatusName(StatusCode.DeadlineExceeded)]
                : [Figures.StatusName(StatusCode.Unavailable)];
            Assert.Equal("none", figures.FailuresOf("calls.before"));
            Assert.Equal("none", figures.FailuresOf("calls.after"));
            Assert.Empty(figures.FailureStatuses("calls.outage").Except(allowed));
            Assert.Empty(figures.FailureStatuses("calls.recovering").Except(allowed));
        }
        finally
        {
            figures.Publish();
        }
    }

    private static async Task<ServingStatus> CheckAsync(Health.HealthClient health, string service = "")
    {
        try
        {
            return (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct)).Status;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            return ServingStatus.Unknown;
        }
    }
}
