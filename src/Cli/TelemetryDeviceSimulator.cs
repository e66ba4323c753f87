using Contoso.Retail.Contracts.Telemetry.V1;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.Cli;

/// <summary>How `telemetry simulate` runs; see <see cref="TelemetryDeviceSimulator"/>.</summary>
/// <param name="Batches">Batches per device; null: until <paramref name="Duration"/> has passed.</param>
/// <param name="Duration">Stop making batches after this long; null: after <paramref name="Batches"/>.</param>
/// <param name="Every">Time between a device's batches; null: as fast as acknowledgements allow.</param>
/// <param name="Window">Batches a device may have sent and not yet had acknowledged.</param>
/// <param name="AckTimeout">A stream that acknowledges nothing for this long is given up and reconnected.</param>
/// <param name="MaxFailedAttempts">Reconnects in a row with no acknowledgement before a device gives up.</param>
public sealed record TelemetrySimulation(
    int Devices,
    int? Batches,
    TimeSpan? Duration,
    TimeSpan? Every,
    int BatchSize = 100,
    string Metric = "temperature_c",
    string DevicePrefix = "sim",
    int Window = 8,
    TimeSpan? AckTimeout = null,
    int MaxFailedAttempts = 10);

/// <summary>What one simulated device sent and what the service acknowledged.</summary>
/// <param name="Points">Points in acknowledged batches (stored now or by an earlier send).</param>
/// <param name="Duplicates">Acknowledgements of batches already stored: resends of batches whose ack was lost.</param>
public sealed record TelemetryDeviceResult(string DeviceId, int Batches, int Acknowledged, long Points, int Duplicates, int Reconnects);

/// <summary>
/// N devices, each on its own StreamIngest stream, keeping every batch until it is acknowledged (after commit).
/// A broken stream reconnects and resends them in order under stable ids, so a batch whose ack was lost is stored once.
/// </summary>
/// <param name="log">Reconnects and other events worth a line.</param>
/// <param name="acknowledged">Each first acknowledgement of a batch (for a progress bar or --verbose lines).</param>
public sealed class TelemetryDeviceSimulator(
    Func<TelemetryIngestService.TelemetryIngestServiceClient> client, TelemetrySimulation simulation, Action<string> log,
    Action<StreamIngestResponse>? acknowledged = null)
{
    private static readonly TimeSpan DefaultAckTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PointSpacing = TimeSpan.FromMilliseconds(10);

    private readonly Func<TelemetryIngestService.TelemetryIngestServiceClient> _client = client;
    private readonly TelemetrySimulation _simulation = simulation;
    private readonly Action<string> _log = log;
    private readonly Action<StreamIngestResponse>? _acknowledged = acknowledged;

    /// <summary>Makes batch ids unique to this run, so a second run with the same devices is stored again.</summary>
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task<IReadOnlyList<TelemetryDeviceResult>> RunAsync(CancellationToken cancellationToken)
    {
        var stopMaking = _simulation.Duration is { } duration ? DateTime.UtcNow + duration : DateTime.MaxValue;
        var devices = Enumerable.Range(1, _simulation.Devices)
            .Select(n => new Device($"{_simulation.DevicePrefix}-{n}", this, stopMaking).RunAsync(cancellationToken));
        return await Task.WhenAll(devices);
    }

    /// <summary>A broken connection, a restarting service, our own ack timeout; not a refused token or an invalid batch.</summary>
    private static bool IsRecoverable(Exception ex) => ex switch
    {
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
            or StatusCode.Aborted or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.ResourceExhausted,
        _ => ex is IOException or HttpRequestException or InvalidOperationException or OperationCanceledException,
    };

    /// <summary>One device: makes batches, keeps the unacknowledged ones, and reconnects until all are acknowledged.</summary>
    private sealed class Device(string id, TelemetryDeviceSimulator owner, DateTime stopMaking)
    {
        private readonly TelemetrySimulation _simulation = owner._simulation;
        private readonly Lock _lock = new();

        /// <summary>Sent and not yet acknowledged, in the order they were made.</summary>
        private readonly SortedDictionary<int, StreamIngestRequest> _unacknowledged = [];
        private readonly DateTime _start = DateTime.UtcNow;
        private int _made, _acknowledged, _duplicates, _reconnects;
        private long _points;
        private bool _doneMaking;

        /// <summary>Completed (and replaced) on every acknowledgement; writers wait on it for room in the window.</summary>
        private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<TelemetryDeviceResult> RunAsync(CancellationToken cancellationToken)
        {
            var failedInARow = 0;
            while (true)
            {
                var acknowledgedBefore = _acknowledged;
                try
                {
                    await StreamAsync(cancellationToken);
                    if (_doneMaking && Pending() == 0)
                    {
                        return new TelemetryDeviceResult(id, _made, _acknowledged, _points, _duplicates, _reconnects);
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsRecoverable(ex))
                {
                    failedInARow = _acknowledged > acknowledgedBefore ? 1 : failedInARow + 1;
                    if (failedInARow > _simulation.MaxFailedAttempts)
                    {
                        throw new RpcException(new Status(StatusCode.Unavailable,
                            $"{id}: gave up after {failedInARow} attempts in a row with no acknowledgement ({Describe(ex)}); "
                            + $"{Pending()} batch(es) unacknowledged"));
                    }

                    _reconnects++;
                    var backoff = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, failedInARow)) * (0.5 + (Random.Shared.NextDouble() / 2)));
                    owner._log($"{id}: stream broke ({Describe(ex)}); reconnecting in {backoff.TotalMilliseconds:0} ms "
                        + $"and resending {Pending()} unacknowledged batch(es)");
                    await Task.Delay(backoff, cancellationToken);
                }
            }
        }

        /// <summary>One stream: resend what is unacknowledged, then make and send new batches, reading acks alongside.</summary>
        private async Task StreamAsync(CancellationToken cancellationToken)
        {
            var ackTimeout = _simulation.AckTimeout ?? DefaultAckTimeout;
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(ackTimeout);
            using var call = owner._client().StreamIngest(cancellationToken: attempt.Token);

            var reading = ReadAcksAsync(call.ResponseStream, attempt, ackTimeout);
            try
            {
                foreach (var batch in Snapshot())
                {
                    await call.RequestStream.WriteAsync(batch, attempt.Token);
                }

                while (await NextBatchAsync(reading, attempt.Token) is { } batch)
                {
                    await call.RequestStream.WriteAsync(batch, attempt.Token);
                    attempt.CancelAfter(ackTimeout);
                }

                // Everything is made: wait for the last acks, then end the stream.
                await WaitUntilAsync(() => _unacknowledged.Count == 0, reading, attempt.Token);
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception)
            {
                // A write failed because the call did: the call's status (from the reader) says why, if it has one.
                await attempt.CancelAsync();
                await reading;
                throw;
            }

            await reading;
        }

        private async Task ReadAcksAsync(IAsyncStreamReader<StreamIngestResponse> acks, CancellationTokenSource attempt, TimeSpan ackTimeout)
        {
            await foreach (var ack in acks.ReadAllAsync(attempt.Token))
            {
                attempt.CancelAfter(ackTimeout);
                TaskCompletionSource progress;
                lock (_lock)
                {
                    var key = _unacknowledged.FirstOrDefault(p => p.Value.BatchId == ack.BatchId).Key;
                    if (key == 0 || !_unacknowledged.Remove(key))
                    {
                        continue;
                    }

                    _acknowledged++;
                    _points += ack.AcceptedPoints;
                    _duplicates += ack.Duplicate ? 1 : 0;
                    progress = _progress;
                    _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                progress.TrySetResult();
                owner._acknowledged?.Invoke(ack);
            }
        }

        /// <summary>Waits for acknowledgements until <paramref name="condition"/> (checked under the lock) holds.</summary>
        private async Task WaitUntilAsync(Func<bool> condition, Task reading, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task progress;
                lock (_lock)
                {
                    if (condition())
                    {
                        return;
                    }

                    progress = _progress.Task;
                }

                if (await Task.WhenAny(progress, reading).WaitAsync(cancellationToken) == reading)
                {
                    await reading; // the stream ended early: its status says why
                    throw new RpcException(new Status(StatusCode.Unavailable, "the stream ended before every batch was acknowledged"));
                }
            }
        }

        /// <summary>The next new batch once the window has room; null when the device is done making batches.</summary>
        private async Task<StreamIngestRequest?> NextBatchAsync(Task reading, CancellationToken cancellationToken)
        {
            if (_made > 0 && _simulation.Every is { } every)
            {
                await Task.Delay(every, cancellationToken);
            }

            if (_simulation.Batches is { } batches && _made >= batches || DateTime.UtcNow >= stopMaking)
            {
                _doneMaking = true;
                return null;
            }

            await WaitUntilAsync(() => _unacknowledged.Count < _simulation.Window, reading, cancellationToken);
            var batch = Make(++_made);
            lock (_lock)
            {
                _unacknowledged.Add(_made, batch);
            }

            return batch;
        }

        /// <summary>
        /// Points 10 ms apart, a slow wave with a little noise. With a batch count the series ends at the start time
        /// (so it is all in the past and every point has its own time); otherwise each batch ends now.
        /// </summary>
        private StreamIngestRequest Make(int sequence)
        {
            var size = _simulation.BatchSize;
            var phase = id.Sum(c => c) % 10 / 1.5;
            var first = ((sequence - 1) * size) + 1;
            var origin = _simulation.Batches is { } batches
                ? _start - (PointSpacing * batches * size)
                : DateTime.UtcNow - (PointSpacing * (first + size));
            var points = Enumerable.Range(first, size).Select(i => new Point
            {
                DeviceId = id,
                Metric = _simulation.Metric,
                Timestamp = Timestamp.FromDateTime(origin + (PointSpacing * i)),
                Value = Math.Round(20 + (5 * Math.Sin((i / 200.0) + phase)) + (Random.Shared.NextDouble() / 10), 3),
                Labels = { ["source"] = "simulator" },
            });
            return new StreamIngestRequest { BatchId = $"{id}-{owner._run}-{sequence}", Points = { points } };
        }

        private List<StreamIngestRequest> Snapshot()
        {
            lock (_lock)
            {
                return [.. _unacknowledged.Values];
            }
        }

        private int Pending()
        {
            lock (_lock)
            {
                return _unacknowledged.Count;
            }
        }

        private static string Describe(Exception ex) => ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.GetBaseException().Message;
    }
}
