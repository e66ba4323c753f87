using System.ComponentModel.DataAnnotations;

namespace Contoso.Retail.TelemetryIngest.Domain;

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

    /// <summary>
    /// StreamIngest group commit: a transaction stops taking queued batches once it holds this many points
    /// (so it exceeds it by less than one batch).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxPointsPerCommit { get; set; } = 20_000;

    /// <summary>StreamIngest transactions in progress at once (each groups the batches queued when it starts).</summary>
    [Range(1, 64)]
    public int IngestWriters { get; set; } = 2;
}
