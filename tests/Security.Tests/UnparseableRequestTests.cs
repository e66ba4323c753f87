using System.Diagnostics.Metrics;

using Contoso.Retail.Contracts;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

using Serilog.Core;
using Serilog.Events;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Bytes that do not parse as the request message, and message frames that lie about their compression, get one
/// defined answer on every method shape: INVALID_ARGUMENT naming the method, an Information line without a stack trace,
/// and a count in grpc.requests.unparseable.
/// </summary>
public class UnparseableRequestTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    // Field 1, length-delimited, claiming 127 bytes that never come: every request type fails to parse it.
    private static readonly byte[] Truncated = [0x0A, 0x7F, 0x01];

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task Bytes_that_do_not_parse_are_INVALID_ARGUMENT_naming_the_method(string path)
    {
        var method = RawGrpc.Descriptor(path);
        Assert.False(RequestBytes.Parses(method, Truncated));

        var (code, detail) = await RawGrpc.CallWithDetailAsync(
            fixture.System.HostOf(method).Channel, RawGrpc.Method(method), [Truncated], cancellationToken: Ct);

        Assert.Equal(StatusCode.InvalidArgument, code);
        Assert.Equal($"The request message for {path} could not be parsed.", detail);
    }

    [Fact]
    public async Task Unparseable_requests_are_logged_as_caller_errors_without_a_stack_trace_and_counted_per_method()
    {
        var logs = new CapturedLogs();
        await using var system = await SecuritySystem.StartAsync(
            settings: new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" },
            configure: builder => builder.Services.AddSingleton<ILogEventSink>(logs));
        var counted = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = CountUnparseable(counted, [.. system.Hosts.Select(h => h.Services.GetRequiredService<IMeterFactory>())]);
        var paths = ContractMethods.All.Select(ContractMethods.Path).ToList();

        using var http = H2c.Client();
        foreach (var path in paths)
        {
            var method = RawGrpc.Descriptor(path);
            var host = system.HostOf(method);
            var code = await RawGrpc.CallAsync(host.Channel, RawGrpc.Method(method), [Truncated], cancellationToken: Ct);
            Assert.Equal(StatusCode.InvalidArgument, code);

            // The framing lies grpc-dotnet's frame reader itself trips over: an undefined compressed flag, a gzip body that is not gzip.
            foreach (var (frame, headers) in new[]
            {
                (H2c.GrpcFrame(Truncated, compressedFlag: 2), Array.Empty<(string, string)>()),
                (H2c.GrpcFrame(Truncated, compressedFlag: 1), [("grpc-encoding", "gzip")]),
            })
            {
                using var content = new ByteArrayContent(frame);
                var (status, _, _, _, _) = await H2c.CallAsync(http, host.Address, path, host.Token, content, RawGrpc.CallBound, headers, Ct);
                Assert.Equal((int)StatusCode.InvalidArgument, status);
            }
        }

        listener.RecordObservableInstruments();
        foreach (var path in paths)
        {
            Assert.Equal(3, counted.GetValueOrDefault(path));
            var lines = logs.WithProperty("GrpcMethod", path).Where(e => e.MessageTemplate.Text.StartsWith("Unparseable", StringComparison.Ordinal));
            Assert.All(lines, line => Assert.Equal(LogEventLevel.Information, line.Level));
            Assert.Equal(3, lines.Count());
        }

        Assert.Empty(logs.Events.Where(e => e.Level >= LogEventLevel.Warning || e.Exception is not null).Select(CapturedLogs.FullText));
    }

    private static MeterListener CountUnparseable(Dictionary<string, long> counted, IMeterFactory[] ofTheseHosts)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == UnparseableRequests.MeterName && instrument.Name == "grpc.requests.unparseable"
                    && ofTheseHosts.Contains(instrument.Meter.Scope))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "method" && tag.Value is string path)
                {
                    lock (counted)
                    {
                        counted[path] = counted.GetValueOrDefault(path) + value;
                    }
                }
            }
        });
        listener.Start();
        return listener;
    }
}
