namespace Contoso.Retail.TelemetryIngest.Model;

/// <summary>A StreamIngest batch that was committed; its id makes a resent batch a no-op.</summary>
public sealed class IngestedBatch
{
    public required string BatchId { get; set; }

    /// <summary>How many points the batch stored (what a duplicate send is acknowledged with).</summary>
    public int Points { get; set; }

    /// <summary>UTC.</summary>
    public DateTime CommittedAt { get; set; }
}
