using System.Diagnostics;

using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Rpc;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

public sealed class StreamIngestTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task StreamIngest_acks_batches_in_order_and_every_acked_point_is_stored_and_queryable(DatabaseProvider provider)
    {
        const int Batches = 10;
        const int BatchSize = 5_000;
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel);
        var client = service.Client();

        using var call = client.StreamIngest(cancellationToken: ct);
        var stopwatch = Stopwatch.StartNew();
        var acks = new List<StreamIngestResponse>();
        var countsAtAck = new List<int>();
        var reading = Task.Run(async () =>
        {
            await foreach (var ack in call.ResponseStream.ReadAllAsync(ct))
            {
                acks.Add(ack);
                // An ack promises a commit: by now the batch must be visible to anyone.
                countsAtAck.Add(await service.CountPointsAsync("sensor-1"));
            }
        }, ct);

        for (var batch = 0; batch < Batches; batch++)
        {
            var request = new StreamIngestRequest { BatchId = $"sensor-1-{batch}" };
            request.Points.AddRange(MakePoints("sensor-1", T0, BatchSize, firstIndex: batch * BatchSize));
            await call.RequestStream.WriteAsync(request, ct);
        }

        await call.RequestStream.CompleteAsync();
        await reading;
        stopwatch.Stop();

        Assert.Equal(Enumerable.Range(0, Batches).Select(b => $"sensor-1-{b}"), acks.Select(a => a.BatchId));
        Assert.All(acks, ack => Assert.Equal((BatchSize, false), (ack.AcceptedPoints, ack.Duplicate)));
        for (var i = 0; i < Batches; i++)
        {
            Assert.True(countsAtAck[i] >= (i + 1) * BatchSize, $"ack {i} arrived with only {countsAtAck[i]} points stored");
        }

        Assert.Equal(Batches * BatchSize, await service.CountPointsAsync());
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{provider}: StreamIngest of {Batches * BatchSize} points in {stopwatch.Elapsed.TotalSeconds:F2} s " +
            $"({Batches * BatchSize / stopwatch.Elapsed.TotalSeconds:F0} points/s, Kestrel loopback).");

        var responses = await client.QueryAllAsync(QueryFor("sensor-1", T0, T0.AddDays(1)));
        var points = responses.SelectMany(r => r.Points).ToList();
        Assert.Equal(Enumerable.Range(0, Batches * BatchSize).Select(i => (double)i), points.Select(p => p.Value));
        Assert.All(points, p => Assert.Equal(((int)p.Value).ToString(System.Globalization.CultureInfo.InvariantCulture), p.Labels["seq"]));
        Assert.Equal(T0.AddMilliseconds(49_999), points[^1].Timestamp.ToDateTime());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task StreamIngest_from_several_devices_at_once_stores_every_acked_batch(DatabaseProvider provider)
    {
        const int Devices = 4;
        const int Batches = 5;
        const int BatchSize = 200;
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel);
        var client = service.Client();

        var acks = await Task.WhenAll(Enumerable.Range(0, Devices).Select(device => Task.Run(() =>
        {
            var batches = Enumerable.Range(0, Batches).Select(b =>
            {
                var request = new StreamIngestRequest { BatchId = $"d{device}-{b}" };
                request.Points.AddRange(MakePoints($"d{device}", T0, BatchSize, firstIndex: b * BatchSize));
                return request;
            });
            return SendAsync(client, [.. batches], ct);
        }, ct)));

        Assert.All(acks, deviceAcks => Assert.Equal(Batches, deviceAcks.Count(a => a is { AcceptedPoints: BatchSize, Duplicate: false })));
        for (var device = 0; device < Devices; device++)
        {
            Assert.Equal(Batches * BatchSize, await service.CountPointsAsync($"d{device}"));
        }
    }

    /// <summary>
    /// Only a transaction leases EF Core's pooled context: a device's stream stays open for hours, so between its
    /// batches it must hold none (each group commit takes one and gives it back before the acknowledgement), and a
    /// Query, which reads on a plain connection, takes none.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task An_open_stream_holds_no_EF_Core_context_between_batches_and_a_query_takes_none(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        var leases = new ContextLeases<Data.TelemetryDbContext>();
        await using var service = await StartAsync(db, configure: leases.Count);
        var client = service.Client();
        // A fresh database migrates before the service listens, so no background model warm-up takes one meanwhile.
        var before = leases.Taken;

        using var call = client.StreamIngest(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new StreamIngestRequest { BatchId = "b-1", Points = { MakePoints("sensor-1", T0, 3) } }, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));

        Assert.Equal(before + 1, leases.Taken);
        Assert.Equal(0, leases.Held);

        var points = (await client.QueryAllAsync(QueryFor("sensor-1", T0, T0.AddSeconds(1)))).Sum(r => r.Points.Count);

        Assert.Equal(3, points);
        Assert.Equal(before + 1, leases.Taken);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task StreamIngest_resent_batch_is_acked_as_duplicate_and_stored_once(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        var batch = new StreamIngestRequest { BatchId = "sensor-1-7" };
        batch.Points.AddRange(MakePoints("sensor-1", T0, 3));

        // Same call, then a new call (a device that reconnects and resends what was not yet dropped).
        var first = await SendAsync(client, [batch, batch], ct);
        var again = await SendAsync(client, [batch], ct);

        Assert.Equal([("sensor-1-7", 3, false), ("sensor-1-7", 3, true)], first.Select(a => (a.BatchId, a.AcceptedPoints, a.Duplicate)));
        Assert.Equal(("sensor-1-7", 3, true), (again[0].BatchId, again[0].AcceptedPoints, again[0].Duplicate));
        Assert.Equal(3, await service.CountPointsAsync());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task StreamIngest_invalid_batch_ends_call_with_invalid_argument_and_keeps_acked_batches(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var good = new StreamIngestRequest { BatchId = "b-1" };
        good.Points.AddRange(MakePoints("sensor-1", T0, 4));
        var bad = new StreamIngestRequest { BatchId = "b-2" };
        bad.Points.AddRange(MakePoints("sensor-1", T0.AddMinutes(1), 3));
        bad.Points[1].Value = double.NaN;

        using var call = service.Client().StreamIngest(cancellationToken: ct);
        await call.RequestStream.WriteAsync(good, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));
        Assert.Equal("b-1", call.ResponseStream.Current.BatchId);
        await call.RequestStream.WriteAsync(bad, ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(ct));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal("points[1].value", violation.Field);
        Assert.Equal(4, await service.CountPointsAsync());
    }

    private static async Task<List<StreamIngestResponse>> SendAsync(
        TelemetryIngestService.TelemetryIngestServiceClient client, StreamIngestRequest[] batches, CancellationToken ct)
    {
        using var call = client.StreamIngest(cancellationToken: ct);
        var acks = new List<StreamIngestResponse>();
        foreach (var batch in batches)
        {
            await call.RequestStream.WriteAsync(batch, ct);
            Assert.True(await call.ResponseStream.MoveNext(ct));
            acks.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(ct));
        return acks;
    }
}
