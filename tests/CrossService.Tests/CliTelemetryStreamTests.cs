using System.Text.Json;

using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// `contoso-retail telemetry send` against a slow ingest service on Kestrel: --timeout bounds the wait for each
/// acknowledgement, never the stream as a whole.
/// </summary>
public sealed class CliTelemetryStreamTests(SlowTelemetry telemetry) : IClassFixture<SlowTelemetry>
{
    [Fact]
    public async Task Telemetry_send_longer_than_the_timeout_completes_while_acknowledgements_keep_coming()
    {
        var device = $"{SlowTelemetry.Slow}{Guid.NewGuid():N}"[..16];

        // 16 batches at 250 ms each: at least 4 s of stream under a 3 s --timeout (each ack has 2.75 s to spare on a busy machine).
        var started = DateTime.UtcNow;
        var send = await telemetry.SendAsync(device, "--points", "16", "--batch-size", "1", "--timeout", "3s");

        Assert.Equal((0, ""), (send.ExitCode, send.Error));
        Assert.Contains("16 acknowledged: 16 point(s) stored", send.Out, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started > TimeSpan.FromSeconds(4), "the stream should have outlasted --timeout");
    }

    [Fact]
    public async Task Telemetry_send_fails_with_deadline_exceeded_when_no_acknowledgement_comes_within_the_timeout()
    {
        var device = $"{SlowTelemetry.Stalled}{Guid.NewGuid():N}"[..16];

        var send = await telemetry.SendAsync(device, "--points", "3", "--batch-size", "1", "--timeout", "500ms");

        Assert.Equal(1, send.ExitCode);
        Assert.StartsWith("error: DeadlineExceeded: no acknowledgement for 500ms (--timeout)", send.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Telemetry_send_with_json_prints_the_acks_on_stdout_and_a_failure_as_one_json_object_on_stderr()
    {
        var device = $"{SlowTelemetry.Stalled}{Guid.NewGuid():N}"[..16];

        // The first ack has 5 s to arrive however busy the machine; the second never comes.
        var send = await telemetry.SendAsync(device, "--points", "3", "--batch-size", "1", "--timeout", "5s", "--json");

        Assert.Equal(1, send.ExitCode);
        var ack = JsonSerializer.Deserialize<JsonElement>(Assert.Single(send.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal($"{device}-1", ack.GetProperty("batchId").GetString());
        var error = JsonSerializer.Deserialize<JsonElement>(Assert.Single(send.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries))).GetProperty("error");
        Assert.Equal("DeadlineExceeded", error.GetProperty("code").GetString());
        Assert.StartsWith("no acknowledgement for 5s", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("telemetry send", error.GetProperty("command").GetString());
        Assert.Equal("/telemetry.v1.TelemetryIngestService/StreamIngest", error.GetProperty("call").GetString());
        Assert.Equal(telemetry.Url, error.GetProperty("address").GetString());
    }
}

/// <summary>
/// The ingest service on Kestrel behind an interceptor that slows its reading by device: "slow-" devices take 250 ms
/// a batch, "stall-" devices are never read past their first batch (until the call ends).
/// </summary>
public sealed class SlowTelemetry : IAsyncLifetime
{
    public const string Slow = "slow-";
    public const string Stalled = "stall-";

    private RunningService _service = null!;

    public string Url => _service.Address.ToString().TrimEnd('/');

    public Task<CliResult> SendAsync(string device, params string[] args) =>
        CliServices.RunCliAsync(["telemetry", "send", "--device", device, "--metric", "temperature_c", "--telemetry", Url, .. args]);

    public async ValueTask InitializeAsync()
    {
        _service = await ServiceHosts.StartTelemetryAsync(new ServiceSetup
        {
            DefaultEndpoints = false,
            Configure = builder => builder.AddServerInterceptor(new SlowReading()),
        });

        // A fresh service's first store builds the data model (over a second here): done now, the tests' timeouts see a warm one.
        var point = new Point { DeviceId = "warm-up", Metric = "temperature_c", Value = 1, Timestamp = Timestamp.FromDateTime(DateTime.UtcNow) };
        await new TelemetryIngestService.TelemetryIngestServiceClient(_service.Channel).IngestBatchAsync(
            new IngestBatchRequest { BatchId = $"warm-up-{Guid.NewGuid():N}", Points = { point } }, cancellationToken: TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    private sealed class SlowReading : Interceptor
    {
        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
            IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
            ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
            continuation(new Paced<TRequest>(requestStream, context.CancellationToken), responseStream, context);
    }

    private sealed class Paced<T>(IAsyncStreamReader<T> inner, CancellationToken callEnded) : IAsyncStreamReader<T>
    {
        private int _read;

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken))
            {
                return false;
            }

            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callEnded);
            var device = inner.Current is StreamIngestRequest { Points.Count: > 0 } batch ? batch.Points[0].DeviceId : "";
            if (device.StartsWith(Slow, StringComparison.Ordinal))
            {
                // A slow service, not a wait for something: each batch takes this long to come through.
                await Task.Delay(TimeSpan.FromMilliseconds(250), either.Token);
            }
            else if (device.StartsWith(Stalled, StringComparison.Ordinal) && ++_read > 1)
            {
                await Task.Delay(Timeout.Infinite, either.Token);
            }

            return true;
        }
    }
}
