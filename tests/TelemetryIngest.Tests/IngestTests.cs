using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Rpc;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

public sealed class IngestTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Ingest_stores_every_point_of_the_call_and_summarises_it(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();

        using var call = client.Ingest(cancellationToken: ct);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 2)), ct);
        await call.RequestStream.WriteAsync(new IngestRequest(), ct);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 5, firstIndex: 2)), ct);
        await call.RequestStream.CompleteAsync();
        var summary = await call;

        Assert.Equal((7L, 3L), (summary.AcceptedPoints, summary.ReceivedMessages));
        Assert.Equal(7, await service.CountPointsAsync());
        var points = (await client.QueryAllAsync(QueryFor("sensor-1", T0, T0.AddHours(1)))).SelectMany(r => r.Points);
        Assert.Equal([0.0, 1, 2, 3, 4, 5, 6], points.Select(p => p.Value));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Ingest_with_an_invalid_point_mid_stream_stores_nothing_from_the_call(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        using var counters = new PointCounters(service.Services);
        var bad = Message(MakePoints("sensor-1", T0.AddMinutes(1), 5));
        bad.Points[3].Value = double.PositiveInfinity;

        using var call = service.Client().Ingest(cancellationToken: ct);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 10)), ct);
        await call.RequestStream.WriteAsync(bad, ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal("points[3].value", violation.Field);
        Assert.StartsWith("message 1:", violation.Description, StringComparison.Ordinal);
        Assert.Equal(10, counters.Received);
        Assert.Equal(0, await service.CountPointsAsync());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Ingest_cancelled_by_the_client_mid_stream_stores_nothing(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel);
        using var counters = new PointCounters(service.Services);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        using var call = service.Client().Ingest(cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 50)), ct);
        await Eventually.HoldsAsync(() => Task.FromResult(counters.Received == 50), "the server to write the first message into its transaction", TimeSpan.FromSeconds(15));
        await cancel.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await Eventually.HoldsAsync(() => Task.FromResult(counters.Discarded == 50), "the server to roll the call back", TimeSpan.FromSeconds(15));
        Assert.Equal(0, counters.Committed);
        Assert.Equal(0, await service.CountPointsAsync());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Ingest_past_the_point_cap_is_resource_exhausted_and_stores_nothing(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, settings: new Dictionary<string, string?>
        {
            ["Telemetry:MaxPointsPerIngestCall"] = "10",
        });

        using var call = service.Client().Ingest(cancellationToken: ct);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 6)), ct);
        await call.RequestStream.WriteAsync(Message(MakePoints("sensor-1", T0, 6, firstIndex: 6)), ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("at most 10 points", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, await service.CountPointsAsync());
    }

    private static IngestRequest Message(IEnumerable<Point> points)
    {
        var request = new IngestRequest();
        request.Points.AddRange(points);
        return request;
    }
}
