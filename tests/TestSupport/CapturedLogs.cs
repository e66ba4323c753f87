using System.Collections.Concurrent;
using System.Globalization;

using Serilog.Core;
using Serilog.Events;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// A Serilog sink that keeps every event a service writes, for tests that assert on logs.
/// Register it with <c>builder.Services.AddSingleton&lt;ILogEventSink&gt;(logs)</c> (AddDefaultLogging reads
/// sinks from DI) and set Serilog:MinimumLevel:Default to the level the test needs.
/// </summary>
public sealed class CapturedLogs : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => [.. _events];

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>The events whose scalar property <paramref name="name"/> renders as <paramref name="value"/>.</summary>
    public IReadOnlyList<LogEvent> WithProperty(string name, string value) =>
        [.. Events.Where(e => ScalarText(e, name) == value)];

    /// <summary>A property's value as plain text (no quotes), or null when the event lacks it.</summary>
    public static string? ScalarText(LogEvent logEvent, string name)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        return logEvent.Properties.TryGetValue(name, out var value)
            ? value is ScalarValue { Value: var scalar } ? Convert.ToString(scalar, CultureInfo.InvariantCulture) : value.ToString()
            : null;
    }

    /// <summary>Everything an event would put in a log: message, every property, the exception.</summary>
    public static string FullText(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        var properties = string.Join(" ", logEvent.Properties.Select(p => $"{p.Key}={p.Value}"));
        return $"{logEvent.RenderMessage(CultureInfo.InvariantCulture)} {properties} {logEvent.Exception}";
    }
}
