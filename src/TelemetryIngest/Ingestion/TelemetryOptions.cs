using System.ComponentModel.DataAnnotations;

namespace Contoso.Retail.TelemetryIngest.Ingestion;

/// <summary>The "Telemetry" configuration section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>
    /// Most points one Ingest call may carry. The whole call is one transaction, so this bounds
    /// how much work a single call can hold open (and roll back).
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxPointsPerIngestCall { get; set; } = 1_000_000;
}
