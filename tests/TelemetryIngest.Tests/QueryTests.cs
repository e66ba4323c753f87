using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Grpc;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

public sealed class QueryTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Query_returns_the_devices_points_in_start_inclusive_end_exclusive_range_in_time_order(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        var start = T0.AddSeconds(10);
        var end = T0.AddSeconds(20);
        await StoreAsync(client, "q-1",
            MakePoint("sensor-1", end, 99),                                  // end is exclusive
            MakePoint("sensor-1", start.AddSeconds(5), 3, labels: [("room", "lab"), ("floor", "2")]),
            MakePoint("sensor-1", start.AddTicks(15_005_000), 2),         // sub-millisecond time
            MakePoint("sensor-1", start, 1),                                  // start is inclusive
            MakePoint("sensor-1", start.AddSeconds(5), 4),                    // same time: insertion order
            MakePoint("sensor-1", start.AddSeconds(6), 5, metric: "humidity_pct"),
            MakePoint("sensor-1", start.AddTicks(-10), 98),
            MakePoint("sensor-2", start.AddSeconds(1), 97));

        var all = (await client.QueryAllAsync(QueryFor("sensor-1", start, end))).SelectMany(r => r.Points).ToList();
        var temperature = (await client.QueryAllAsync(QueryFor("sensor-1", start, end, metric: "temperature_c"))).SelectMany(r => r.Points);

        Assert.Equal([1.0, 2, 3, 4, 5], all.Select(p => p.Value));
        Assert.Equal([1.0, 2, 3, 4], temperature.Select(p => p.Value));
        Assert.Equal(start.AddTicks(15_005_000), all[1].Timestamp.ToDateTime());
        Assert.Equal(new Dictionary<string, string> { ["room"] = "lab", ["floor"] = "2" }, all[2].Labels);
        Assert.Empty(all[3].Labels);
        Assert.All(all, p => Assert.Equal("sensor-1", p.DeviceId));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Query_limit_returns_only_the_earliest_points(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        await StoreAsync(client, "q-1", [.. MakePoints("sensor-1", T0, 20).Reverse()]);

        var points = (await client.QueryAllAsync(QueryFor("sensor-1", T0, T0.AddHours(1), limit: 7))).SelectMany(r => r.Points);

        Assert.Equal([0.0, 1, 2, 3, 4, 5, 6], points.Select(p => p.Value));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Query_of_a_large_range_arrives_over_several_messages_in_time_order(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        const int Count = (2 * TelemetryIngestGrpcService.QueryChunkPoints) + 234;
        await StoreAsync(client, "q-1", [.. MakePoints("sensor-1", T0, Count)]);

        var responses = await client.QueryAllAsync(QueryFor("sensor-1", T0, T0.AddHours(1)));

        Assert.Equal([500, 500, 234], responses.Select(r => r.Points.Count));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (double)i), responses.SelectMany(r => r.Points).Select(p => p.Value));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Query_with_nothing_in_range_ends_without_messages(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);

        var responses = await service.Client().QueryAllAsync(QueryFor("sensor-1", T0, T0.AddHours(1)));

        Assert.Empty(responses);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Query_invalid_request_is_invalid_argument_naming_each_field(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        var backwards = QueryFor("sensor-1", T0.AddHours(1), T0);
        var empty = new QueryRequest { Limit = -1 };

        var backwardsFields = await ViolatedFieldsAsync(client, backwards);
        var emptyFields = await ViolatedFieldsAsync(client, empty);
        var sameInstantFields = await ViolatedFieldsAsync(client, QueryFor("sensor-1", T0, T0));

        Assert.Equal(["end_time"], backwardsFields);
        Assert.Equal(["device_id", "end_time", "limit", "start_time"], emptyFields.Order());
        Assert.Equal(["end_time"], sameInstantFields);
    }

    private static async Task<List<string>> ViolatedFieldsAsync(TelemetryIngestService.TelemetryIngestServiceClient client, QueryRequest request)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => client.QueryAllAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        return [.. error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field)];
    }

    private static async Task StoreAsync(TelemetryIngestService.TelemetryIngestServiceClient client, string batchId, params Point[] points)
    {
        var ct = TestContext.Current.CancellationToken;
        using var call = client.StreamIngest(cancellationToken: ct);
        var request = new StreamIngestRequest { BatchId = batchId };
        request.Points.AddRange(points);
        await call.RequestStream.WriteAsync(request, ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(ct));
        Assert.Equal(points.Length, call.ResponseStream.Current.AcceptedPoints);
    }
}
