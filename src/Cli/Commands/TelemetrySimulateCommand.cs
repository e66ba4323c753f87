using System.CommandLine;
using System.Text.Json;

using Contoso.Retail.Contracts.Telemetry.V1;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail telemetry simulate`: N devices streaming telemetry, reconnecting and resending what was not acknowledged.</summary>
public static class TelemetrySimulateCommand
{
    private const int DefaultBatches = 10;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Build()
    {
        var devices = new Option<int>("--devices") { Description = "How many devices to simulate (sim-1, sim-2, ...).", DefaultValueFactory = _ => 3 };
        var batches = new Option<int?>("--batches") { Description = $"Batches per device [default: {DefaultBatches}, or unlimited with --duration]." };
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "Keep making batches for this long, e.g. 30s, 5m (a batch per --every, default 1s).",
            CustomParser = r => Durations.ParseArgument(r),
        };
        var every = new Option<TimeSpan?>("--every")
        {
            Description = "Time between a device's batches [default: as fast as acknowledgements allow; 1s with --duration].",
            CustomParser = r => Durations.ParseArgument(r),
        };
        var batchSize = new Option<int>("--batch-size") { Description = "Points per batch (1-10000).", DefaultValueFactory = _ => 100 };
        var metric = new Option<string>("--metric") { Description = "Metric name.", DefaultValueFactory = _ => "temperature_c" };
        var prefix = new Option<string>("--device-prefix") { Description = "Device ids are <prefix>-1 ... <prefix>-N.", DefaultValueFactory = _ => "sim" };
        var window = new Option<int>("--window") { Description = "Unacknowledged batches a device may have in flight.", DefaultValueFactory = _ => 8 };
        var command = new Command("simulate", """
            Stream telemetry from N simulated devices over StreamIngest. Each device keeps every batch until it is
            acknowledged; when a stream breaks it reconnects with backoff and resends the unacknowledged batches
            (the service acknowledges a batch it already stored as a duplicate and stores it once). A stream that
            acknowledges nothing for --timeout is reconnected too. Exits 0 when every batch was acknowledged.
            On a terminal, a progress bar on stderr; --verbose prints a line per acknowledgement instead.
            """)
        {
            devices, batches, duration, every, batchSize, metric, prefix, window,
        };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var forTime = context.Get(duration);
            var simulation = new TelemetrySimulation(
                Devices: context.Get(devices),
                Batches: context.Get(batches) ?? (forTime is null ? DefaultBatches : null),
                Duration: forTime,
                Every: context.Get(every) ?? (forTime is null ? null : TimeSpan.FromSeconds(1)),
                BatchSize: context.Get(batchSize),
                Metric: context.Get(metric)!,
                DevicePrefix: context.Get(prefix)!,
                Window: context.Get(window),
                AckTimeout: context.Timeout);
            Validate(simulation);

            var howMany = simulation.Batches is { } b ? $"{b} batch(es)" : "batches";
            var howLong = forTime is { } d ? $" for {d.TotalSeconds:0.#}s" : "";
            context.Output.Line($"simulating {simulation.Devices} device(s), {howMany} of {simulation.BatchSize} point(s) each{howLong}");

            var stderr = context.ParseResult.InvocationConfiguration.Error;
            var gate = new Lock();
            var progress = context.Output.Progress("batches", simulation.Devices * (long?)simulation.Batches);
            var simulator = new TelemetryDeviceSimulator(context.Telemetry, simulation, Log, Acknowledged);
            IReadOnlyList<TelemetryDeviceResult> results;
            try
            {
                results = await simulator.RunAsync(cancellationToken);
            }
            finally
            {
                progress?.Complete();
            }

            Report(context, results);
            return CliApp.Success;

            void Log(string line)
            {
                if (progress is { } bar)
                {
                    bar.WriteLine(line);
                    return;
                }

                lock (gate)
                {
                    stderr.WriteLine(line);
                }
            }

            void Acknowledged(StreamIngestResponse ack)
            {
                progress?.Advance();
                if (!context.Output.IsJson)
                {
                    // --json prints one result per device at the end, not the acknowledgements.
                    lock (gate)
                    {
                        context.Output.Ack(ack);
                    }
                }
            }
        });
        return command;
    }

    private static void Validate(TelemetrySimulation simulation)
    {
        if (simulation.Devices < 1 || simulation.BatchSize is < 1 or > 10_000 || simulation.Window < 1 || simulation.Batches < 1)
        {
            throw new UsageException("--devices, --batches and --window must be at least 1, --batch-size 1-10000.");
        }
    }

    private static void Report(CommandContext context, IReadOnlyList<TelemetryDeviceResult> results)
    {
        if (context.Output.IsJson)
        {
            var stdout = context.ParseResult.InvocationConfiguration.Output;
            foreach (var result in results)
            {
                stdout.WriteLine(JsonSerializer.Serialize(result, Json));
            }

            return;
        }

        foreach (var r in results)
        {
            context.Output.Line($"{r.DeviceId}: {r.Acknowledged} of {r.Batches} batch(es) acknowledged, {r.Points} point(s), "
                + $"{r.Duplicates} duplicate(s) after resend, {r.Reconnects} reconnect(s)");
        }

        context.Output.Line($"all {results.Sum(r => r.Acknowledged)} batch(es) acknowledged: " +
            $"{results.Sum(r => r.Points)} point(s) from {results.Count} device(s), " +
            $"{results.Sum(r => r.Reconnects)} reconnect(s), {results.Sum(r => r.Duplicates)} duplicate(s)");
    }
}
