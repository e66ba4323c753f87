using System.Diagnostics;
using System.Globalization;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.Reliability.Tests.Infrastructure;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

using static Contoso.Retail.Reliability.Tests.Infrastructure.QuietServices;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// TelemetryIngest as a real child process, killed with SIGKILL right after it acknowledges a batch, restarted on
/// the same database; the device resends every batch it has no acknowledgement for.
/// </summary>
public sealed class CrashAfterAckTests
{
    private const int Batches = 60;
    private const int PointsPerBatch = 100;
    private const int Crashes = 2;
    private const string Device = "crash-device";
    private static readonly DateTime T0 = new(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [Trait("Category", "Long")]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Every_acknowledged_point_survives_kill_9_and_resent_batches_are_stored_once(DatabaseProvider provider)
    {
        var figures = FiguresOf($"crash-after-ack-{provider.ToString().ToLowerInvariant()}");
        await using var db = await TestDatabase.CreateAsync(provider);
        var port = ServiceProcess.FreePort();
        var settings = db.Settings("Telemetry");
        var token = DevTokens.Mint(DevTokens.DevelopmentKey, DevTokens.DefaultIssuer, DevTokens.DefaultAudience, Device,
            ["telemetry.write", "telemetry.read"], TimeSpan.FromHours(1));
        var acked = new HashSet<string>(StringComparer.Ordinal);
        var service = ServiceProcess.Start("Contoso.Retail.TelemetryIngest", port, settings);

        try
        {
            using var channel = BearerChannel.ForAddress(service.Address, token);
            var client = new TelemetryIngestService.TelemetryIngestServiceClient(channel);
            var restarts = new List<double>();
            await WaitUntilServingAsync(channel, service);
            var committedBefore = new HashSet<string>(StringComparer.Ordinal);
            var crashes = 0;
            while (acked.Count < Batches)
            {
                var killAt = crashes < Crashes ? (crashes + 1) * Batches / (Crashes + 1) : int.MaxValue;
                var killed = await StreamUnacknowledgedAsync(client, acked, committedBefore, figures, killAt, service);
                if (!killed)
                {
                    continue;
                }

                crashes++;
                figures.Add("kill_9");
                var ackedAtKill = acked.ToHashSet(StringComparer.Ordinal);
                await service.DisposeAsync();
                var restart = Stopwatch.StartNew();
                service = ServiceProcess.Start("Contoso.Retail.TelemetryIngest", port, settings);
                await WaitUntilServingAsync(channel, service);
                restarts.Add(Math.Round(restart.Elapsed.TotalMilliseconds));

                // Before anything is resent: every batch acknowledged before the kill is there, whole and once.
                var stored = ByBatch(await ReadBackAsync(client));
                var incomplete = ackedAtKill.Where(id => !IsWhole(stored, id)).Order(StringComparer.Ordinal).ToList();
                Assert.True(incomplete.Count == 0,
                    $"Acknowledged before kill -9 #{crashes} but not stored whole after the restart: {string.Join(", ", incomplete)}.");
                committedBefore = [.. stored.Keys];
                figures.Add("committed_not_acknowledged_at_kill", committedBefore.Count(id => !ackedAtKill.Contains(id)));
            }

            var points = await ReadBackAsync(client);
            var perPoint = points.GroupBy(p => (p.Labels["batch"], p.Labels["seq"])).ToList();
            figures.Set("restart_to_serving_ms", restarts);
            figures.Set("batches", Batches);
            figures.Set("points_acknowledged", acked.Count * PointsPerBatch);
            figures.Set("points_stored", points.Count);
            figures.Set("points_lost", (acked.Count * PointsPerBatch) - perPoint.Count);
            figures.Set("points_stored_twice", perPoint.Count(g => g.Count() > 1));

            Assert.Equal(Crashes, crashes);
            var all = ByBatch(points);
            Assert.Equal(Enumerable.Range(0, Batches).Select(BatchId).Order(StringComparer.Ordinal), all.Keys.Order(StringComparer.Ordinal));
            Assert.All(all.Keys, id => Assert.True(IsWhole(all, id), $"Batch {id} is not stored whole and once."));
        }
        finally
        {
            await service.DisposeAsync();
            figures.Publish();
        }
    }

    /// <summary>
    /// One StreamIngest: sends every batch not yet acknowledged (pipelined), checks each ack names a batch of this stream
    /// once and says duplicate exactly for the batches stored before it began, and kills the service the moment the ack
    /// that brings the total to <paramref name="killAt"/> arrives. True if it killed the service.
    /// </summary>
    private static async Task<bool> StreamUnacknowledgedAsync(
        TelemetryIngestService.TelemetryIngestServiceClient client, HashSet<string> acked, HashSet<string> committedBefore, Figures figures, int killAt,
        ServiceProcess service)
    {
        var pending = Enumerable.Range(0, Batches).Where(i => !acked.Contains(BatchId(i))).ToList();
        var sending = pending.Select(BatchId).ToHashSet(StringComparer.Ordinal);
        figures.Add(acked.Count == 0 ? "sent" : "resent", pending.Count);
        using var call = client.StreamIngest(cancellationToken: Ct);
        var written = 0;
        var writing = Task.Run(async () =>
        {
            try
            {
                foreach (var i in pending)
                {
                    await call.RequestStream.WriteAsync(Batch(i), Ct);
                    Interlocked.Increment(ref written);
                }

                await call.RequestStream.CompleteAsync();
            }
            catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The service died under the writer: the reader reports how the stream ended.
            }
        }, Ct);

        var killed = false;
        try
        {
            // Acks already on their way when the process died still arrive: they count as acknowledged too.
            await foreach (var ack in call.ResponseStream.ReadAllAsync(Ct))
            {
                Assert.True(sending.Contains(ack.BatchId) && acked.Add(ack.BatchId),
                    $"Ack for {ack.BatchId}, which this stream did not send or had acknowledged.");
                figures.Add(killed ? "acks_read_after_kill" : ack.Duplicate ? "acks.duplicate" : "acks.new");
                Assert.Equal((ack.BatchId, PointsPerBatch, committedBefore.Contains(ack.BatchId)), (ack.BatchId, ack.AcceptedPoints, ack.Duplicate));
                if (!killed && acked.Count == killAt)
                {
                    await service.KillAsync();
                    killed = true;
                    figures.Add("written_not_acknowledged_at_kill", Volatile.Read(ref written) - (acked.Count - (Batches - pending.Count)));
                }
            }

            // Ending OK means the service had read the whole stream and acknowledged every batch on it.
            Assert.Empty(sending.Except(acked));
        }
        catch (RpcException ex)
        {
            figures.Outcome("stream", ex.StatusCode);
        }

        await writing;
        return killed;
    }

    private static Dictionary<string, List<Point>> ByBatch(IEnumerable<Point> points) =>
        points.GroupBy(p => p.Labels["batch"], StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

    /// <summary>All of the batch's points, each exactly once.</summary>
    private static bool IsWhole(Dictionary<string, List<Point>> stored, string batchId) =>
        stored.TryGetValue(batchId, out var points)
        && points.Select(p => int.Parse(p.Labels["seq"], CultureInfo.InvariantCulture)).Order().SequenceEqual(Enumerable.Range(0, PointsPerBatch));

    private static async Task WaitUntilServingAsync(GrpcChannel channel, ServiceProcess service)
    {
        var health = new Health.HealthClient(channel);
        await Eventually.HoldsAsync(async () =>
        {
            Assert.False(service.HasExited, $"The service exited:\n{service.Output}");
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: Ct);
                return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
            }
            catch (RpcException)
            {
                return false;
            }
        }, "the telemetry service to serve", TimeSpan.FromSeconds(60), PollInterval);
    }

    private static async Task<List<Point>> ReadBackAsync(TelemetryIngestService.TelemetryIngestServiceClient client)
    {
        var points = new List<Point>();
        using var call = client.Query(
            new QueryRequest { DeviceId = Device, StartTime = Timestamp.FromDateTime(T0), EndTime = Timestamp.FromDateTime(T0.AddDays(1)) },
            cancellationToken: Ct);
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(Ct))
        {
            points.AddRange(chunk.Points);
        }

        return points;
    }

    private static string BatchId(int index) => $"{Device}-{index.ToString("D4", CultureInfo.InvariantCulture)}";

    private static StreamIngestRequest Batch(int index)
    {
        var batch = new StreamIngestRequest { BatchId = BatchId(index) };
        for (var seq = 0; seq < PointsPerBatch; seq++)
        {
            batch.Points.Add(new Point
            {
                DeviceId = Device,
                Metric = "temperature_c",
                Timestamp = Timestamp.FromDateTime(T0.AddSeconds(index).AddMilliseconds(seq)),
                Value = seq,
                Labels = { ["batch"] = BatchId(index), ["seq"] = seq.ToString(CultureInfo.InvariantCulture) },
            });
        }

        return batch;
    }
}
