using System.Globalization;

namespace Contoso.Retail.Cli;

/// <summary>
/// One progress line redrawn in place with a carriage return: count/total, rate per second and ETA, at most every
/// <see cref="MinRedrawInterval"/>. Written by hand: a carriage-return line is all this needs, ShellProgressBar draws on
/// Console.Out (our stdout carries results) and Spectre.Console is a large dependency for one line.
/// </summary>
public sealed class ProgressReporter(TextWriter writer, string unit, long? total, TimeProvider clock)
{
    public static readonly TimeSpan MinRedrawInterval = TimeSpan.FromMilliseconds(100);
    private const int BarWidth = 24;

    private readonly Lock _lock = new();
    private readonly long _started = clock.GetTimestamp();
    private long _count;
    private long? _lastDrawn;
    private int _lastLength;

    /// <summary>Counts <paramref name="done"/> more and redraws unless the line was drawn less than the interval ago.</summary>
    public void Advance(long done = 1)
    {
        lock (_lock)
        {
            _count += done;
            var now = clock.GetTimestamp();
            if (_lastDrawn is { } last && clock.GetElapsedTime(last, now) < MinRedrawInterval && _count != total)
            {
                return;
            }

            Draw(now);
        }
    }

    /// <summary>A whole line (e.g. a reconnect) above the progress line, which is then drawn again.</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            writer.Write('\r' + text.PadRight(_lastLength) + '\n');
            _lastLength = 0;
            Draw(clock.GetTimestamp());
        }
    }

    /// <summary>Draws the final state and ends the line, so what follows starts on a line of its own.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            Draw(clock.GetTimestamp());
            writer.Write('\n');
            writer.Flush();
        }
    }

    /// <summary>E.g. "[######------------------]  120/480 batches  40/s  ETA 0:09"; without a total, the time so far.</summary>
    private string Render(TimeSpan elapsed)
    {
        var rate = elapsed > TimeSpan.Zero ? _count / elapsed.TotalSeconds : 0;
        var perSecond = rate.ToString(rate >= 10 ? "N0" : "0.#", CultureInfo.InvariantCulture) + "/s";
        if (total is not { } all || all <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{_count:N0} {unit}  {perSecond}  {Clock(elapsed)}");
        }

        var filled = (int)(BarWidth * Math.Min(1, (double)_count / all));
        var eta = _count >= all ? "done" : rate > 0 ? "ETA " + Clock(TimeSpan.FromSeconds((all - _count) / rate)) : "ETA --:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('-', BarWidth - filled)}]  {_count:N0}/{all:N0} {unit}  {perSecond}  {eta}");
    }

    private void Draw(long now)
    {
        var line = Render(clock.GetElapsedTime(_started, now));
        writer.Write('\r' + line.PadRight(_lastLength));
        writer.Flush();
        (_lastDrawn, _lastLength) = (now, line.Length);
    }

    private static string Clock(TimeSpan time) => time.TotalHours >= 1
        ? time.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : time.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
