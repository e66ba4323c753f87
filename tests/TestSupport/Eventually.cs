using System.Diagnostics;

using Xunit;

namespace Contoso.Retail.TestSupport;

/// <summary>The one way a test waits for something to become true: poll it, within a bound.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="bound"/> has passed; true when it held.</summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan bound, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > bound)
            {
                return false;
            }

            await Task.Delay(interval ?? DefaultInterval, TestContext.Current.CancellationToken);
        }

        return true;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, failing after <paramref name="bound"/> naming <paramref name="what"/>.</summary>
    /// <returns>How long it took to hold.</returns>
    public static async Task<TimeSpan> HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan bound, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        Assert.True(await WithinAsync(condition, bound, interval), $"Timed out after {bound} waiting for {what}.");
        return clock.Elapsed;
    }
}
