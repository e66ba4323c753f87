using Serilog.Events;
using Serilog.Parsing;

namespace Contoso.Retail.ServiceDefaults.Tests.Logging;

public class CorrelationContextTests
{
    [Fact]
    public void New_ids_are_distinct_version_4_uuids()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => CorrelationContext.NewId()).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id =>
        {
            Assert.True(CorrelationContext.IsValid(id));
            var uuid = Guid.ParseExact(id, "N");
            Assert.Equal(id, uuid.ToString("N"));
            Assert.Equal(4, uuid.Version);
            Assert.Equal(0x8, uuid.Variant & 0xC);
        });
    }

    [Fact]
    public void Log_events_outside_a_served_call_get_no_call_ids()
    {
        var outside = Event();
        new CallLogEnricher().Enrich(outside, null!);

        // Making an id current by hand (not a served call) changes what downstream calls send, not the log lines.
        using (CorrelationContext.Begin("job-42"))
        {
            Assert.Equal("job-42", CorrelationContext.Current);
            var inside = Event();
            new CallLogEnricher().Enrich(inside, null!);
            Assert.Empty(inside.Properties);
        }

        Assert.Empty(outside.Properties);
        Assert.Null(CorrelationContext.Current);
    }

    private static LogEvent Event() =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse("hello"), []);
}
