using Contoso.Retail.Cli;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>The Cli's progress line, drawn on a writer with a clock the test moves (no terminal needed).</summary>
public sealed class CliProgressTests
{
    [Fact]
    public void Progress_shows_count_of_total_rate_and_eta()
    {
        var (writer, clock) = (new StringWriter(), new ManualClock());
        var progress = new ProgressReporter(writer, "batches", 100, clock);

        clock.Advance(TimeSpan.FromSeconds(2));
        progress.Advance(20);

        Assert.Equal("\r[####--------------------]  20/100 batches  10/s  ETA 0:08", writer.ToString());
    }

    [Fact]
    public void Progress_redraws_in_place_at_most_ten_times_a_second()
    {
        var (writer, clock) = (new StringWriter(), new ManualClock());
        var progress = new ProgressReporter(writer, "batches", 10_000, clock);

        for (var i = 0; i < 1000; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            progress.Advance();
        }

        // Drawn at 1 ms, then every 100 ms: the last draw (901 ms) shows 901, the rest waits for the next.
        var text = writer.ToString();
        Assert.Equal(10, text.Count(c => c == '\r'));
        Assert.DoesNotContain('\n', text);
        Assert.EndsWith("\r[##----------------------]  901/10,000 batches  1,000/s  ETA 0:09", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_draws_the_final_count_and_ends_the_line()
    {
        var (writer, clock) = (new StringWriter(), new ManualClock());
        var progress = new ProgressReporter(writer, "batches", 3, clock);

        clock.Advance(TimeSpan.FromSeconds(1));
        progress.Advance(3);
        progress.Complete();

        Assert.EndsWith("\r[########################]  3/3 batches  3/s  done\n", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_written_during_progress_goes_above_the_bar_which_is_drawn_again()
    {
        var (writer, clock) = (new StringWriter(), new ManualClock());
        var progress = new ProgressReporter(writer, "batches", null, clock);

        clock.Advance(TimeSpan.FromSeconds(4));
        progress.Advance(8);
        progress.WriteLine("sim-1: reconnecting");

        // The line overwrites the bar (padded to its length), then the bar starts again below it.
        Assert.Equal("\r8 batches  2/s  0:04" + "\rsim-1: reconnecting \n" + "\r8 batches  2/s  0:04", writer.ToString());
    }

    /// <summary>A clock that moves only when told (FakeTimeProvider would be a package for these few lines).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
