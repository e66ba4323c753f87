namespace Contoso.Retail.Orders.Ordering;

internal static class Clock
{
    /// <summary>UTC now, truncated to the microsecond PostgreSQL stores, so a saved order reads back unchanged.</summary>
    public static DateTime UtcNowForStorage(this TimeProvider clock) => ForStorage(clock.GetUtcNow());

    public static DateTime ForStorage(DateTimeOffset instant)
    {
        var ticks = instant.UtcTicks;
        return new DateTime(ticks - (ticks % (TimeSpan.TicksPerMillisecond / 1000)), DateTimeKind.Utc);
    }
}
