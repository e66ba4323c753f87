using Serilog.Core;
using Serilog.Events;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// Adds the served call's CorrelationId, TraceId and SpanId to each event, read when the event is written so a call
/// that logs nothing pays nothing. A host that configures Serilog itself adds it with <c>.Enrich.With&lt;CallLogEnricher&gt;()</c>.
/// </summary>
public sealed class CallLogEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (CorrelationContext.CurrentLogIds is not { } ids)
        {
            return;
        }

        logEvent.AddPropertyIfAbsent(new LogEventProperty("CorrelationId", new ScalarValue(ids.LogCorrelationId)));
        // Activity caches its hex ids, so these are the strings the trace carries, not new ones per event.
        var traceId = ids.Activity?.TraceId.ToHexString() ?? ids.FallbackTraceId;
        logEvent.AddPropertyIfAbsent(new LogEventProperty("TraceId", new ScalarValue(traceId)));
        if (ids.Activity is { } activity)
        {
            logEvent.AddPropertyIfAbsent(new LogEventProperty("SpanId", new ScalarValue(activity.SpanId.ToHexString())));
        }
    }
}
