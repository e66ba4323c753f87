using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

using Contoso.Retail.Contracts.Telemetry.V1;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail telemetry send|query|simulate`: simulate a device (or many), read its points back.</summary>
public static class TelemetryCommands
{
    public static Command Build() => new("telemetry", "Send simulated device telemetry and query it back.")
    {
        Send(),
        Query(),
        TelemetrySimulateCommand.Build(),
    };

    private static Command Send()
    {
        var device = new Option<string>("--device") { Description = "Device id.", Required = true };
        var metric = new Option<string>("--metric") { Description = "Metric name, e.g. temperature_c.", Required = true };
        var points = new Option<int>("--points") { Description = "How many points to send.", DefaultValueFactory = _ => 100 };
        var batchSize = new Option<int>("--batch-size") { Description = "Points per batch (1-10000).", DefaultValueFactory = _ => 50 };
        var startSeq = new Option<long>("--start-seq")
        {
            Description = "First batch sequence number; batch ids are <device>-<seq>, and a batch id already stored is acknowledged as a duplicate.",
            DefaultValueFactory = _ => 1,
        };
        var interval = new Option<TimeSpan>("--interval")
        {
            Description = "Time between points; the last point is stamped now.",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(1),
            CustomParser = Durations.ParseArgument,
        };
        var command = new Command("send", "Stream points over StreamIngest in batches: a progress bar, or a line per acknowledgement with --verbose or --json.")
        {
            device, metric, points, batchSize, startSeq, interval,
        };
        command.SetHandler(async (context, cancellationToken) =>
        {
            var (count, size) = (context.Get(points), context.Get(batchSize));
            if (count < 1 || size < 1)
            {
                throw new UsageException("--points and --batch-size must be at least 1.");
            }

            var batches = SimulatedDevice.Batches(
                context.Get(device)!, context.Get(metric)!, count, size, context.Get(startSeq), context.Get(interval), DateTime.UtcNow);
            var summary = await StreamAsync(context, batches, cancellationToken);
            context.Output.Line($"sent {count} point(s) in {batches.Count} batch(es); {summary.Acks} acknowledged: "
                + $"{summary.Stored} point(s) stored, {summary.Duplicates} batch(es) already stored before");
            if (summary.Acks != batches.Count)
            {
                context.Output.Error($"only {summary.Acks} of {batches.Count} batches were acknowledged");
                return CliApp.Failure;
            }

            return CliApp.Success;
        });
        return command;
    }

    private static async Task<(int Acks, long Stored, int Duplicates)> StreamAsync(
        CommandContext context, IReadOnlyList<StreamIngestRequest> batches, CancellationToken cancellationToken)
    {
        using var timeout = context.StreamTimeout("acknowledgement", cancellationToken);
        using var call = context.Telemetry().StreamIngest(cancellationToken: timeout.Token);
        var progress = context.Output.Progress("batches", batches.Count);

        // Acks arrive while later batches are still being written.
        var reading = Task.Run(async () =>
        {
            var (acks, stored, duplicates) = (0, 0L, 0);
            await foreach (var ack in call.ResponseStream.ReadAllAsync(timeout.Token))
            {
                timeout.Restart();
                context.Output.Ack(ack);
                progress?.Advance();
                (acks, stored, duplicates) = ack.Duplicate
                    ? (acks + 1, stored, duplicates + 1)
                    : (acks + 1, stored + ack.AcceptedPoints, duplicates);
            }

            return (acks, stored, duplicates);
        }, cancellationToken);

        try
        {
            foreach (var batch in batches)
            {
                await call.RequestStream.WriteAsync(batch, timeout.Token);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException || timeout.HasExpired)
        {
            // The call failed (a write after it ended is an InvalidOperationException) or --timeout gave it up: the reader says which.
        }

        try
        {
            return await timeout.RunAsync(reading);
        }
        finally
        {
            progress?.Complete();
        }
    }

    private static Command Query()
    {
        var device = new Option<string>("--device") { Description = "Device id.", Required = true };
        var metric = new Option<string>("--metric") { Description = "Only this metric (default: all of the device's)." };
        var since = new Option<TimeSpan?>("--since")
        {
            Description = "How far back from now, e.g. 15m, 1h (default 1h).",
            CustomParser = r => Durations.ParseArgument(r),
        };
        var from = new Option<DateTime?>("--from") { Description = "Range start (ISO 8601, UTC unless it says otherwise).", CustomParser = ParseTime };
        var to = new Option<DateTime?>("--to") { Description = "Range end, exclusive (default: now).", CustomParser = ParseTime };
        var limit = new Option<int>("--limit") { Description = "At most this many points (default: all)." };
        var command = new Command("query", "Print a device's points in a time range, then count/min/max/mean.") { device, metric, since, from, to, limit };
        command.Validators.Add(result =>
        {
            if (result.GetResult(since) is not null && (result.GetResult(from) is not null || result.GetResult(to) is not null))
            {
                result.AddError("Use either --since or --from/--to, not both.");
            }
        });
        command.SetHandler(async (context, cancellationToken) =>
        {
            var now = DateTime.UtcNow;
            var start = context.Get(from) ?? now - (context.Get(since) ?? TimeSpan.FromHours(1));
            var end = context.Get(to) ?? now;
            var request = new QueryRequest
            {
                DeviceId = context.Get(device),
                Metric = context.Get(metric) ?? "",
                StartTime = Timestamp.FromDateTime(start),
                EndTime = Timestamp.FromDateTime(end),
                Limit = context.Get(limit),
            };

            using var timeout = context.StreamTimeout("points", cancellationToken);
            using var call = context.Telemetry().Query(request, cancellationToken: timeout.Token);
            var values = await timeout.RunAsync(ReadAsync());
            context.Output.Line(Summary(values));
            return CliApp.Success;

            async Task<List<double>> ReadAsync()
            {
                var read = new List<double>();
                await foreach (var response in call.ResponseStream.ReadAllAsync(timeout.Token))
                {
                    timeout.Restart();
                    context.Output.Points(response);
                    read.AddRange(response.Points.Select(p => p.Value));
                }

                return read;
            }
        });
        return command;
    }

    public static string Summary(IReadOnlyCollection<double> values) => values.Count == 0
        ? "0 point(s)"
        : string.Create(CultureInfo.InvariantCulture,
            $"{values.Count} point(s)  min {values.Min():0.###}  max {values.Max():0.###}  mean {values.Average():0.###}");

    private static DateTime? ParseTime(ArgumentResult result)
    {
        var text = result.Tokens[^1].Value;
        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        result.AddError($"'{text}' is not a date/time; use ISO 8601, e.g. 2025-01-31T12:00:00Z.");
        return null;
    }
}
