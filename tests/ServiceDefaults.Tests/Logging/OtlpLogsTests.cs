using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;

using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Contoso.Retail.ServiceDefaults.Tests.Logging;

/// <summary>With OTEL_EXPORTER_OTLP_ENDPOINT set, a service's log events reach the collector, with their trace.</summary>
public sealed partial class OtlpLogsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Log_events_are_exported_over_OTLP_with_the_service_name_and_the_trace_they_were_written_in()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var marker = $"otlp-log-{Guid.NewGuid():N}";
        var logWritten = collector.WaitFor("/v1/logs", marker);
        await using var service = await RunningService.StartAsync(
            Transport.Kestrel,
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_SERVICE_NAME"] = "otlp-logs-test",
                ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            },
            builder => builder.AddServiceDefaults(),
            app =>
            {
                app.MapDefaultEndpoints();
                return Task.CompletedTask;
            });

        using var source = new ActivitySource($"{Telemetry.SourcePrefix}.Tests.OtlpLogs");
        ActivityTraceId traceId;
        using (var activity = source.StartActivity("write a log"))
        {
            Assert.NotNull(activity);
            traceId = activity.TraceId;
            LogExported(service.App.Services.GetRequiredService<ILogger<OtlpLogsTests>>(), marker);
        }

        var body = await logWritten.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.True(Contains(body, Encoding.UTF8.GetBytes("otlp-logs-test")), "The log record's resource names the service.");
        var traceBytes = new byte[16];
        traceId.CopyTo(traceBytes);
        Assert.True(Contains(body, traceBytes), "The log record carries the trace id of the activity it was written in.");
        // Serilog forwards to the OpenTelemetry provider only: the framework's console provider would print each line twice.
        Assert.DoesNotContain(service.App.Services.GetServices<ILoggerProvider>(), provider => provider is ConsoleLoggerProvider);
    }

    [Fact]
    public async Task Without_an_OTLP_endpoint_no_OpenTelemetry_logger_provider_is_registered()
    {
        await using var service = await RunningService.StartAsync(
            Transport.InMemory,
            new Dictionary<string, string?>(),
            builder => builder.AddServiceDefaults(),
            app =>
            {
                app.MapDefaultEndpoints();
                return Task.CompletedTask;
            });

        Assert.DoesNotContain(
            service.App.Services.GetServices<ILoggerProvider>(),
            provider => provider.GetType().FullName!.StartsWith("OpenTelemetry", StringComparison.Ordinal));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exported {Marker}")]
    private static partial void LogExported(ILogger logger, string marker);

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>An OTLP/HTTP receiver on loopback: keeps every body posted to /v1/{signal}, protobuf as sent.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _received = new();
        private readonly List<(string Path, byte[] Text, TaskCompletionSource<byte[]> Done)> _waiters = [];

        private OtlpCollector(WebApplication app) => _app = app;

        public string Address { get; private set; } = "";

        public static async Task<OtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var collector = new OtlpCollector(app);
            app.MapPost("/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                collector.Receive(context.Request.Path, body.ToArray());
                return Results.Ok();
            });
            await app.StartAsync(Ct);
            collector.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return collector;
        }

        /// <summary>Completes with the first body posted to <paramref name="path"/> that contains <paramref name="text"/>.</summary>
        public Task<byte[]> WaitFor(string path, string text)
        {
            var waiter = (path, Encoding.UTF8.GetBytes(text), new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously));
            lock (_waiters)
            {
                _waiters.Add(waiter);
                foreach (var (receivedPath, body) in _received)
                {
                    Offer(waiter, receivedPath, body);
                }
            }

            return waiter.Item3.Task;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();

        private void Receive(string path, byte[] body)
        {
            lock (_waiters)
            {
                _received.Enqueue((path, body));
                foreach (var waiter in _waiters)
                {
                    Offer(waiter, path, body);
                }
            }
        }

        private static void Offer((string Path, byte[] Text, TaskCompletionSource<byte[]> Done) waiter, string path, byte[] body)
        {
            if (path == waiter.Path && Contains(body, waiter.Text))
            {
                waiter.Done.TrySetResult(body);
            }
        }
    }
}
