using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Errors;
using Contoso.Retail.TelemetryIngest.Data;

using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.TelemetryIngest.Grpc;

/// <summary>
/// The contract's input rules (see telemetry.proto). Violations are INVALID_ARGUMENT with a
/// google.rpc.BadRequest naming each offending field, e.g. <c>points[3].value</c>.
/// </summary>
public static class TelemetryValidation
{
    public const int MaxLabels = 16;
    public const int MaxLabelKeyLength = 64;
    public const int MaxLabelValueLength = 256;
    public const int MaxPointsPerBatch = 10_000;

    // The range Timestamp.ToDateTime accepts: 0001-01-01 to 9999-12-31.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

    // PostgreSQL text and jsonb cannot hold U+0000; rejecting it everywhere keeps both providers alike.
    private const string NoNul = "must not contain NUL (U+0000) characters";

    /// <summary>One message of an Ingest call; violations name the message and the point.</summary>
    public static void ValidateIngestMessage(IngestRequest request, long messageIndex)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validator = new RequestValidator();
        AddPoints(validator, request.Points, $"message {messageIndex}: ");
        validator.ThrowIfInvalid();
    }

    public static void ValidateBatch(StreamIngestRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateBatch(request.BatchId, request.Points);
    }

    /// <summary>IngestBatch (the REST form of one StreamIngest batch): the same rules.</summary>
    public static void ValidateBatch(IngestBatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateBatch(request.BatchId, request.Points);
    }

    private static void ValidateBatch(string batchId, RepeatedField<Point> points)
    {
        var validator = new RequestValidator()
            .RequireNotEmpty(batchId, "batch_id", TelemetryDbContext.MaxBatchIdLength)
            .Require(!HasNul(batchId), "batch_id", NoNul)
            .Require(points.Count is > 0 and <= MaxPointsPerBatch, "points", $"must have 1 to {MaxPointsPerBatch} points");
        AddPoints(validator, points, "");
        validator.ThrowIfInvalid();
    }

    public static void ValidateQuery(QueryRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validator = new RequestValidator()
            .RequireNotEmpty(request.DeviceId, "device_id", TelemetryDbContext.MaxDeviceIdLength)
            .Require(!HasNul(request.DeviceId), "device_id", NoNul)
            .Require(request.Metric.Length <= TelemetryDbContext.MaxMetricLength, "metric", $"must be at most {TelemetryDbContext.MaxMetricLength} characters")
            .Require(!HasNul(request.Metric), "metric", NoNul)
            .Require(request.Limit >= 0, "limit", "must not be negative (0 means no limit)");
        AddTimestamp(validator, request.StartTime, "start_time", "");
        AddTimestamp(validator, request.EndTime, "end_time", "");
        if (IsValid(request.StartTime) && IsValid(request.EndTime))
        {
            validator.Require(request.EndTime > request.StartTime, "end_time", "must be after start_time");
        }

        validator.ThrowIfInvalid();
    }

    /// <summary>RESOURCE_EXHAUSTED when adding <paramref name="adding"/> points would pass the per-call cap.</summary>
    public static void EnsureWithinIngestCap(long received, int adding, long maxPoints)
    {
        if (received + adding <= maxPoints)
        {
            return;
        }

        var description = $"An Ingest call may carry at most {maxPoints} points; send the rest in another call.";
        throw new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = description,
            Details =
            {
                Any.Pack(new QuotaFailure
                {
                    Violations = { new QuotaFailure.Types.Violation { Subject = "points per Ingest call", Description = description } },
                }),
            },
        }.ToRpcException();
    }

    private static void AddPoints(RequestValidator validator, RepeatedField<Point> points, string where)
    {
        for (var i = 0; i < points.Count; i++)
        {
            AddPoint(validator, points[i], $"points[{i}]", where);
        }
    }

    private static void AddPoint(RequestValidator validator, Point point, string field, string where)
    {
        AddText(validator, point.DeviceId, $"{field}.device_id", TelemetryDbContext.MaxDeviceIdLength, where);
        AddText(validator, point.Metric, $"{field}.metric", TelemetryDbContext.MaxMetricLength, where);
        AddTimestamp(validator, point.Timestamp, $"{field}.timestamp", where);
        validator.Require(double.IsFinite(point.Value), $"{field}.value", $"{where}must be a finite number");

        var labels = $"{field}.labels";
        validator.Require(point.Labels.Count <= MaxLabels, labels, $"{where}must have at most {MaxLabels} labels");
        foreach (var (key, value) in point.Labels)
        {
            validator
                .Require(key.Length is > 0 and <= MaxLabelKeyLength, labels, $"{where}key \"{Shorten(key)}\" must be 1 to {MaxLabelKeyLength} characters")
                .Require(value.Length <= MaxLabelValueLength, labels, $"{where}value of \"{Shorten(key)}\" must be at most {MaxLabelValueLength} characters")
                .Require(!HasNul(key) && !HasNul(value), labels, $"{where}label \"{Shorten(key)}\" {NoNul}");
        }
    }

    private static void AddText(RequestValidator validator, string value, string field, int maxLength, string where)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            validator.Add(field, $"{where}must not be empty");
            return;
        }

        validator
            .Require(value.Length <= maxLength, field, $"{where}must be at most {maxLength} characters")
            .Require(!HasNul(value), field, $"{where}{NoNul}");
    }

    private static void AddTimestamp(RequestValidator validator, Timestamp? timestamp, string field, string where)
    {
        if (timestamp is null)
        {
            validator.Add(field, $"{where}is required");
            return;
        }

        validator.Require(IsValid(timestamp), field, $"{where}must be between 0001-01-01 and 9999-12-31 with nanos 0 to 999999999");
    }

    private static bool IsValid(Timestamp? timestamp) =>
        timestamp is { Seconds: >= MinTimestampSeconds and <= MaxTimestampSeconds, Nanos: >= 0 and <= 999_999_999 };

    private static bool HasNul(string value) => value.Contains('\0', StringComparison.Ordinal);

    private static string Shorten(string key) => key.Length <= MaxLabelKeyLength ? key : key[..MaxLabelKeyLength] + "...";
}
