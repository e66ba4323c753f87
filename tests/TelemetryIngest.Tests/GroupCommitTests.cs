using System.Data;
using System.Data.Common;
using System.Diagnostics.Metrics;

using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Errors;
using Contoso.Retail.TelemetryIngest.Domain;
using Contoso.Retail.TelemetryIngest.Model;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

using Npgsql;

using Serilog.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>
/// StreamIngest group commit (<see cref="BatchWriter"/>). To make grouping deterministic the single writer is held
/// up: another connection claims batch "held" in an open transaction, so the writer's transaction for "held" waits
/// on it while the other streams' batches queue behind; rolling that transaction back lets everything through.
/// </summary>
public sealed class GroupCommitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Batches_queued_behind_a_commit_are_written_in_one_transaction_each_once_with_duplicates_acknowledged(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel, new Dictionary<string, string?> { ["Telemetry:IngestWriters"] = "1" });
        using var groups = new GroupSizes(service.Services);
        var client = service.Client();
        var writer = service.Services.GetRequiredService<BatchWriter>();
        Assert.Equal((5, false), await SendAsync(client, "earlier", "dev-e", 5)); // committed before the held group
        Assert.Equal([1], groups.Snapshot());

        await using (var blocker = await HoldBatchIdAsync(db, "held"))
        {
            var held = SendAsync(client, "held", "dev-h", 3);
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Writing == 1), "the writer to take the held batch", TimeSpan.FromSeconds(15));
            var queued = new[]
            {
                SendAsync(client, "a", "dev-a", 10),
                SendAsync(client, "b", "dev-b", 20),
                SendAsync(client, "same", "dev-s", 7),
                SendAsync(client, "same", "dev-s", 7),
                SendAsync(client, "earlier", "dev-e", 5),
            };
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Queued == queued.Length), "five batches queued behind the held one", TimeSpan.FromSeconds(15));
            Assert.False(held.IsCompleted, "the held batch must wait for the blocking transaction");

            await blocker.RollbackAsync(Ct);
            Assert.Equal((3, false), await held);
            var acks = await Task.WhenAll(queued);

            Assert.Equal((10, false), acks[0]);
            Assert.Equal((20, false), acks[1]);
            // The same id twice in one group: one of the two writes it, the other is its duplicate.
            Assert.Equal([(7, false), (7, true)], acks[2..4].OrderBy(a => a.Duplicate));
            Assert.Equal((5, true), acks[4]);
        }

        // "earlier" (1), "held" alone (1), then everything that queued behind it in one transaction: a, b, same.
        Assert.Equal([1, 1, 3], groups.Snapshot());
        Assert.Equal(5 + 3 + 10 + 20 + 7, await service.CountPointsAsync());
        Assert.Equal(7, await service.CountPointsAsync("dev-s"));
        Assert.Equal(5, await service.CountPointsAsync("dev-e"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task A_batch_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_committed(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel, new Dictionary<string, string?> { ["Telemetry:IngestWriters"] = "1" });
        using var groups = new GroupSizes(service.Services);
        var writer = service.Services.GetRequiredService<BatchWriter>();

        Task<StoredBatch> good1, bad, good2;
        await using (var blocker = await HoldBatchIdAsync(db, "held"))
        {
            var held = writer.StoreAsync("held", Stored("dev-h", 1), Ct);
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Writing == 1), "the writer to take the held batch", TimeSpan.FromSeconds(15));
            good1 = writer.StoreAsync("good-1", Stored("dev-1", 4), Ct);
            // Past validation (which the gRPC method runs first) only code can send this: a point without a device
            // id, which the NOT NULL column refuses.
            bad = writer.StoreAsync("bad", [.. Stored("dev-x", 2), new TelemetryPoint { DeviceId = null!, Metric = "m", Timestamp = T0 }], Ct);
            good2 = writer.StoreAsync("good-2", Stored("dev-2", 6), Ct);
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Queued == 3), "three batches queued", TimeSpan.FromSeconds(15));
            await blocker.RollbackAsync(Ct);
            await held;
        }

        Assert.Equal(new StoredBatch(4, false), await good1);
        Assert.Equal(new StoredBatch(6, false), await good2);
        await Assert.ThrowsAnyAsync<Exception>(() => bad);
        Assert.Equal(0, await service.CountPointsAsync("dev-x"));
        Assert.Equal(1 + 4 + 6, await service.CountPointsAsync());
        // The held batch, then good-1 and good-2 committed one by one after their group of three failed.
        Assert.Equal([1, 1, 1], groups.Snapshot());

        // The refused batch claimed nothing: sent again, correctly, it is new.
        Assert.Equal(new StoredBatch(2, false), await writer.StoreAsync("bad", Stored("dev-x", 2), Ct));
    }

    [Fact]
    public async Task When_the_database_cannot_be_reached_a_group_fails_at_once_instead_of_batch_by_batch()
    {
        // SQLite answers "busy" after the connection's Default Timeout while another connection holds the write lock:
        // a transient failure, like an unreachable server.
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var logs = new CapturedLogs();
        await using var service = await StartAsync(
            db,
            Transport.Kestrel,
            new Dictionary<string, string?>
            {
                ["Telemetry:IngestWriters"] = "1",
                ["ConnectionStrings:Telemetry"] = db.ConnectionString + ";Default Timeout=2",
            },
            builder => builder.Services.AddSingleton<ILogEventSink>(logs));
        var writer = service.Services.GetRequiredService<BatchWriter>();

        await using (await HoldBatchIdAsync(db, "held"))
        {
            var held = writer.StoreAsync("held", Stored("dev-h", 1), Ct);
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Writing == 1), "the writer to take the held batch", TimeSpan.FromSeconds(15));
            var group = new[] { "g-1", "g-2", "g-3" }.Select(id => writer.StoreAsync(id, Stored(id, 2), Ct)).ToArray();
            await Eventually.HoldsAsync(() => Task.FromResult(writer.Writing == 3), "the three queued batches to be taken as one group", TimeSpan.FromSeconds(30));

            foreach (var batch in group)
            {
                var failure = await Assert.ThrowsAnyAsync<Exception>(() => batch);
                Assert.True(DependencyFailures.IsTransient(failure), failure.ToString());
            }

            // One busy wait for the group, not one more per batch: the writer never went on to commit each alone.
            Assert.DoesNotContain(logs.Events, e => e.MessageTemplate.Text.Contains("committing each batch alone", StringComparison.Ordinal));
            Assert.True(DependencyFailures.IsTransient(await Assert.ThrowsAnyAsync<Exception>(() => held)));
        }

        Assert.Equal(0, await service.CountPointsAsync());
    }

    [Fact]
    public async Task Batches_handed_over_after_shutdown_began_are_refused_UNAVAILABLE()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var service = await StartAsync(db, Transport.Kestrel);
        var writer = service.Services.GetRequiredService<BatchWriter>();
        await service.DisposeAsync();

        var refused = await Assert.ThrowsAsync<RpcException>(() => writer.StoreAsync("late", Stored("dev-l", 1), Ct));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
    }

    private static async Task<(int Points, bool Duplicate)> SendAsync(
        TelemetryIngestService.TelemetryIngestServiceClient client, string batchId, string deviceId, int points)
    {
        using var call = client.StreamIngest(cancellationToken: Ct);
        var request = new StreamIngestRequest { BatchId = batchId };
        request.Points.AddRange(MakePoints(deviceId, T0, points));
        await call.RequestStream.WriteAsync(request, Ct);
        Assert.True(await call.ResponseStream.MoveNext(Ct));
        var ack = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(Ct));
        return (ack.AcceptedPoints, ack.Duplicate);
    }

    private static List<TelemetryPoint> Stored(string deviceId, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new TelemetryPoint { DeviceId = deviceId, Metric = "m", Timestamp = T0.AddSeconds(i), Value = i })];

    /// <summary>An open transaction on its own connection that has claimed <paramref name="batchId"/>.</summary>
    private static async Task<DbTransaction> HoldBatchIdAsync(TestDatabase db, string batchId)
    {
        DbConnection connection = db.Provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(db.ConnectionString)
            : new SqliteConnection(db.ConnectionString);
        await connection.OpenAsync(Ct);
        var transaction = await connection.BeginTransactionAsync(Ct);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO ingested_batches (batch_id, points, committed_at) VALUES (@id, 0, @at)";
        var id = insert.CreateParameter();
        id.ParameterName = "@id";
        id.Value = batchId;
        insert.Parameters.Add(id);
        var at = insert.CreateParameter();
        at.ParameterName = "@at";
        at.Value = DateTime.UtcNow;
        insert.Parameters.Add(at);
        await insert.ExecuteNonQueryAsync(Ct);
        return new OwningTransaction(transaction, connection);
    }

    /// <summary>The <c>telemetry.commit.batches</c> values one service recorded, in order.</summary>
    private sealed class GroupSizes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<int> _sizes = [];

        public GroupSizes(IServiceProvider services)
        {
            var meterFactory = services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "telemetry.commit.batches" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
            {
                lock (_sizes)
                {
                    _sizes.Add(value);
                }
            });
            _listener.Start();
        }

        public int[] Snapshot()
        {
            lock (_sizes)
            {
                return [.. _sizes];
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A transaction that closes its connection when disposed.</summary>
    private sealed class OwningTransaction(DbTransaction inner, DbConnection connection) : DbTransaction
    {
        public override IsolationLevel IsolationLevel => inner.IsolationLevel;

        protected override DbConnection? DbConnection => connection;

        public override void Commit() => inner.Commit();

        public override void Rollback() => inner.Rollback();

        public override Task RollbackAsync(CancellationToken cancellationToken = default) => inner.RollbackAsync(cancellationToken);

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await connection.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
