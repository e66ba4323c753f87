namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>Times as every service stores them: UTC, to the microsecond (PostgreSQL's precision), so a saved value reads back equal.</summary>
public static class StorageTime
{
    public static DateTime UtcNowForStorage(this TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return ForStorage(clock.GetUtcNow());
    }

    public static DateTime ForStorage(DateTimeOffset instant)
    {
        var ticks = instant.UtcTicks;
        return new DateTime(ticks - (ticks % TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);
    }

    /// <summary>A stored time read back, marked UTC: SQLite returns it with an unspecified kind.</summary>
    public static DateTime AsUtc(DateTime stored) => DateTime.SpecifyKind(stored, DateTimeKind.Utc);
}
