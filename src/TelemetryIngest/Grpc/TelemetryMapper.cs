using System.Text.Json;

using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Model;

using Google.Protobuf.WellKnownTypes;

namespace Contoso.Retail.TelemetryIngest.Grpc;

/// <summary>Wire <see cref="Point"/> to and from the stored row (labels as a JSON object).</summary>
public static class TelemetryMapper
{
    /// <remarks>Expects a validated point (timestamp present and in range).</remarks>
    public static TelemetryPoint ToStored(Point point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return new TelemetryPoint
        {
            DeviceId = point.DeviceId,
            Metric = point.Metric,
            Timestamp = point.Timestamp.ToDateTime(),
            Value = point.Value,
            Labels = point.Labels.Count == 0 ? null : JsonSerializer.Serialize<IDictionary<string, string>>(point.Labels),
        };
    }

    public static Point ToWire(TelemetryPoint point) => ToWire(point, new LabelsCache());

    /// <summary>As <see cref="ToWire(TelemetryPoint)"/>; a device's points mostly repeat one labels object, parsed once.</summary>
    public static Point ToWire(TelemetryPoint point, LabelsCache labels)
    {
        ArgumentNullException.ThrowIfNull(point);
        var wire = new Point
        {
            DeviceId = point.DeviceId,
            Metric = point.Metric,
            Timestamp = Timestamp.FromDateTime(StorageTime.AsUtc(point.Timestamp)),
            Value = point.Value,
        };
        if (point.Labels is not null)
        {
            wire.Labels.Add(labels.Parse(point.Labels));
        }

        return wire;
    }
}

/// <summary>The last labels JSON seen and its parsed form.</summary>
public sealed class LabelsCache
{
    private string? _json;
    private Dictionary<string, string> _parsed = [];

    public Dictionary<string, string> Parse(string json)
    {
        if (!string.Equals(json, _json, StringComparison.Ordinal))
        {
            _parsed = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
            _json = json;
        }

        return _parsed;
    }
}
