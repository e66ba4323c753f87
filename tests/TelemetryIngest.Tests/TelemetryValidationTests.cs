using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.TelemetryIngest.Grpc;

using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

public sealed class TelemetryValidationTests
{
    [Fact]
    public void Valid_batch_passes()
    {
        var batch = Batch(MakePoint("d", T0, 1.5, labels: [.. Enumerable.Range(0, 16).Select(i => ($"k{i}", new string('v', 256)))]));
        batch.Points.Add(MakePoint(new string('d', 128), T0, -0.0, metric: new string('m', 128)));

        TelemetryValidation.ValidateBatch(batch);
    }

    public static TheoryData<string, Action<Point>> PointViolations => new()
    {
        { "points[0].device_id", p => p.DeviceId = "" },
        { "points[0].device_id", p => p.DeviceId = new string('d', 129) },
        { "points[0].metric", p => p.Metric = " " },
        { "points[0].metric", p => p.Metric = new string('m', 129) },
        { "points[0].timestamp", p => p.Timestamp = null },
        { "points[0].timestamp", p => p.Timestamp = new Timestamp { Seconds = 0, Nanos = -1 } },
        { "points[0].timestamp", p => p.Timestamp = new Timestamp { Seconds = 253_402_300_800 } },
        { "points[0].value", p => p.Value = double.NaN },
        { "points[0].value", p => p.Value = double.NegativeInfinity },
        { "points[0].labels", p => p.Labels.Add(Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v")) },
        { "points[0].labels", p => p.Labels[""] = "v" },
        { "points[0].labels", p => p.Labels[new string('k', 65)] = "v" },
        { "points[0].labels", p => p.Labels["k"] = new string('v', 257) },
        { "points[0].device_id", p => p.DeviceId = "a\0b" },
        { "points[0].metric", p => p.Metric = "\0" },
        { "points[0].labels", p => p.Labels["k"] = "v\0" },
    };

    [Theory]
    [MemberData(nameof(PointViolations))]
    public void Invalid_point_is_invalid_argument_naming_the_point_and_field(string field, Action<Point> breakPoint)
    {
        ArgumentNullException.ThrowIfNull(breakPoint);
        var point = MakePoint("d", T0, 1);
        breakPoint(point);

        Assert.Equal([field], Violations(() => TelemetryValidation.ValidateBatch(Batch(point))).Select(v => v.Field));
    }

    [Fact]
    public void Every_violation_of_a_batch_is_reported_at_once()
    {
        var batch = Batch(MakePoint("d", T0, 1), MakePoint("", T0, double.NaN));
        batch.BatchId = "";

        var fields = Violations(() => TelemetryValidation.ValidateBatch(batch)).Select(v => v.Field);

        Assert.Equal(["batch_id", "points[1].device_id", "points[1].value"], fields);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(TelemetryValidation.MaxPointsPerBatch + 1)]
    public void Batch_without_1_to_10000_points_is_invalid(int count)
    {
        var batch = Batch([.. Enumerable.Range(0, count).Select(i => MakePoint("d", T0, i))]);

        Assert.Equal(["points"], Violations(() => TelemetryValidation.ValidateBatch(batch)).Select(v => v.Field));
    }

    [Fact]
    public void Batch_id_longer_than_128_is_invalid()
    {
        var batch = Batch(MakePoint("d", T0, 1));
        batch.BatchId = new string('b', 129);

        Assert.Equal(["batch_id"], Violations(() => TelemetryValidation.ValidateBatch(batch)).Select(v => v.Field));
    }

    [Fact]
    public void Ingest_message_violation_names_the_message_and_the_point()
    {
        var message = new IngestRequest { Points = { MakePoint("d", T0, 1), MakePoint("d", T0, 2), MakePoint("d", T0, double.NaN) } };

        var violation = Assert.Single(Violations(() => TelemetryValidation.ValidateIngestMessage(message, messageIndex: 4)));

        Assert.Equal("points[2].value", violation.Field);
        Assert.Equal("message 4: must be a finite number", violation.Description);
    }

    [Fact]
    public void Empty_ingest_message_is_valid()
    {
        TelemetryValidation.ValidateIngestMessage(new IngestRequest(), messageIndex: 0);
    }

    [Theory]
    [InlineData(0, 10, 10)]
    [InlineData(9, 1, 10)]
    public void Ingest_up_to_the_cap_is_allowed(long received, int adding, long max)
    {
        TelemetryValidation.EnsureWithinIngestCap(received, adding, max);
    }

    [Fact]
    public void Ingest_past_the_cap_is_resource_exhausted()
    {
        var error = Assert.Throws<RpcException>(() => TelemetryValidation.EnsureWithinIngestCap(9, 2, 10));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.NotNull(error.GetRpcStatus()!.GetDetail<QuotaFailure>());
    }

    [Fact]
    public void Valid_query_passes()
    {
        TelemetryValidation.ValidateQuery(QueryFor("d", T0, T0.AddTicks(1), limit: 0, metric: ""));
        TelemetryValidation.ValidateQuery(QueryFor("d", T0, T0.AddDays(1), limit: 5, metric: "m"));
    }

    [Fact]
    public void Query_violations_name_each_field()
    {
        var tooLong = QueryFor(new string('d', 129), T0, T0.AddDays(1), metric: new string('m', 129));
        var missingEnd = QueryFor("d", T0, T0.AddDays(1));
        missingEnd.EndTime = null;

        Assert.Equal(["device_id", "metric"], Violations(() => TelemetryValidation.ValidateQuery(tooLong)).Select(v => v.Field));
        Assert.Equal(["end_time"], Violations(() => TelemetryValidation.ValidateQuery(missingEnd)).Select(v => v.Field));
        Assert.Equal(["end_time"], Violations(() => TelemetryValidation.ValidateQuery(QueryFor("d", T0, T0.AddTicks(-1)))).Select(v => v.Field));
        Assert.Equal(["limit"], Violations(() => TelemetryValidation.ValidateQuery(QueryFor("d", T0, T0.AddDays(1), limit: -1))).Select(v => v.Field));
    }

    [Fact]
    public void Point_maps_to_a_row_and_back_unchanged()
    {
        var point = MakePoint("d", T0.AddTicks(1234567), 21.5, labels: [("room", "lab \"A\""), ("ünïcode", "✓")]);

        var row = TelemetryMapper.ToStored(point);
        row.Timestamp = DateTime.SpecifyKind(row.Timestamp, DateTimeKind.Unspecified); // as SQLite hands it back

        Assert.Equal(point, TelemetryMapper.ToWire(row));
        Assert.Null(TelemetryMapper.ToStored(MakePoint("d", T0, 1)).Labels);
    }

    private static StreamIngestRequest Batch(params Point[] points)
    {
        var batch = new StreamIngestRequest { BatchId = "batch-1" };
        batch.Points.AddRange(points);
        return batch;
    }

    private static List<BadRequest.Types.FieldViolation> Violations(Action validate)
    {
        var error = Assert.Throws<RpcException>(validate);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        return [.. error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations];
    }
}
