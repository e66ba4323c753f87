namespace Contoso.Retail.TelemetryIngest.Model;

/// <summary>One stored measurement. Rows are only ever appended (bulk) and read back by time range.</summary>
public sealed class TelemetryPoint
{
    public long Id { get; set; }

    public required string DeviceId { get; set; }

    public required string Metric { get; set; }

    /// <summary>UTC.</summary>
    public DateTime Timestamp { get; set; }

    public double Value { get; set; }

    /// <summary>The labels as a JSON object, or null when the point has none.</summary>
    public string? Labels { get; set; }
}
