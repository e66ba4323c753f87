using System.Buffers.Binary;
using System.Diagnostics;

using Contoso.Retail.Contracts.Inventory.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.LoadGen;

public static class Commands
{
    public static int Help()
    {
        Console.Error.WriteLine("""
            usage: loadgen <command> [--option value ...]
              run           --scenario get-item|place-order|watch-stock|query|stream-ingest|pg-copy
                            [--target http://127.0.0.1:5101] [--connections 1] [--concurrency 32]
                            [--warmup 2s] [--duration 10s | --requests N] [--rate N/s (open loop)]
                            [--dev-token | --token JWT] [--dev-key BASE64] [--label NAME]
                            [--json FILE] [--markdown FILE] [--no-progress]
                            scenario options: --sku A,B (get-item, place-order), --messages N (watch-stock),
                            --device ID (query), --batch-size N (stream-ingest, pg-copy), --pg CONNSTR (pg-copy)
              prepare       --target URL --dev-token [--sku BENCH-1 --available N] [--watch-items N]
                            [--device ID --points N] (telemetry target)
              wait-serving  --target URL [--timeout 60s] [--since-unix-ms T]   prints ms until grpc.health.v1 SERVING
              grpc-body     --sku KB-001 --out FILE   a gRPC-framed GetItemRequest for h2load -d
              token         [--dev-key BASE64]   prints a development token with every scope (for h2load -H)
            """);
        return 0;
    }

    public static async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = LoadOptions.From(args);
        var json = args.Get("json");
        var markdown = args.Get("markdown");
        await using var scenario = await Scenarios.CreateAsync(options.Scenario, args, options, cancellationToken);
        var result = await LoadRunner.RunAsync(options, scenario, Console.Error, cancellationToken);

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, result.ToJson(), cancellationToken);
        }

        if (markdown is not null)
        {
            await File.WriteAllTextAsync(markdown, result.ToMarkdown(), cancellationToken);
        }

        Console.Write(result.ToMarkdown());

        // Every call failing means the target is wrong or down: say so with the exit code.
        return result.Ok > 0 ? 0 : 1;
    }

    /// <summary>Creates what the scenarios read: stock to order, items to watch, points to query.</summary>
    public static async Task<int> PrepareAsync(Arguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var target = args.Required("target");
        var token = Channels.TokenFrom(args);
        var sku = args.Get("sku");
        var available = args.Count("available", 1_000_000_000);
        var watchItems = args.Count("watch-items", 0);
        var device = args.Get("device");
        var points = args.Count("points", 0);
        args.ThrowIfUnknown();

        using var channels = await Channels.OpenAsync(target, 1, token, cancellationToken);
        var options = channels.CallOptions.WithCancellationToken(cancellationToken);
        var inventory = new InventoryService.InventoryServiceClient(channels.For(0));
        if (sku is not null)
        {
            await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "Benchmark item", Available = available }, options);
        }

        for (var i = 0; i < watchItems; i++)
        {
            await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = $"WATCH-{i:D5}", Name = "Watched item", Available = 1000 }, options);
        }

        //#if (IncludeTelemetry)
        if (device is not null && points > 0)
        {
            var telemetry = new TelemetryIngestService.TelemetryIngestServiceClient(channels.For(0));
            using var call = telemetry.Ingest(options);
            var start = DateTime.UnixEpoch.AddYears(50);
            for (var sent = 0; sent < points; sent += 1000)
            {
                var request = new IngestRequest();
                for (var i = sent; i < Math.Min(points, sent + 1000); i++)
                {
                    request.Points.Add(new Point
                    {
                        DeviceId = device,
                        Metric = "temperature_c",
                        Timestamp = Timestamp.FromDateTime(start.AddSeconds(i)),
                        Value = i % 40,
                        Labels = { ["site"] = "bench" },
                    });
                }

                await call.RequestStream.WriteAsync(request, cancellationToken);
            }

            await call.RequestStream.CompleteAsync();
            var summary = await call;
            Console.WriteLine($"ingested {summary.AcceptedPoints} points for {device}");
        }
        //#endif

        return 0;
    }

    /// <summary>Polls grpc.health.v1.Health/Check ("" = readiness) until SERVING; prints the milliseconds it took.</summary>
    public static async Task<int> WaitServingAsync(Arguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var target = args.Required("target");
        var timeout = args.Duration("timeout", TimeSpan.FromSeconds(60));
        var since = args.WholeNumber("since-unix-ms");
        args.ThrowIfUnknown();

        var origin = since is { } unixMs ? DateTimeOffset.FromUnixTimeMilliseconds(unixMs) : DateTimeOffset.UtcNow;
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var check = new Method<byte[], byte[]>(MethodType.Unary, "grpc.health.v1.Health", "Check", RawBytes, RawBytes);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(target);
        var invoker = channel.CreateCallInvoker();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                // HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status: SERVING} is field 1 = 1.
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                var response = await invoker.AsyncUnaryCall(check, null, new CallOptions(cancellationToken: attempt.Token), []);
                if (response is [0x08, 0x01])
                {
                    Console.WriteLine($"{(DateTimeOffset.UtcNow - origin).TotalMilliseconds:F0}");
                    return 0;
                }
            }
            catch (RpcException)
            {
                // Not listening yet, or not ready.
            }

            await Task.Delay(10, cancellationToken);
        }

        await Console.Error.WriteLineAsync($"loadgen: {target} was not SERVING within {timeout.TotalSeconds:F0} s");
        return 1;
    }

    public static int Token(Arguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var devKey = args.Get("dev-key", Contracts.Auth.DevTokens.DevelopmentKey);
        args.ThrowIfUnknown();
        Console.WriteLine(Contracts.Auth.DevTokens.Mint(
            devKey, Contracts.Auth.DevTokens.DefaultIssuer, Contracts.Auth.DevTokens.DefaultAudience, "loadgen", Channels.AllScopes, TimeSpan.FromHours(2)));
        return 0;
    }

    /// <summary>A length-prefixed GetItemRequest, as h2load sends it with -d and content-type application/grpc.</summary>
    public static async Task<int> GrpcBodyAsync(Arguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var sku = args.Get("sku", Scenarios.SampleSkus[0]);
        var output = args.Required("out");
        args.ThrowIfUnknown();
        await File.WriteAllBytesAsync(output, GrpcFrame(new GetItemRequest { Sku = sku }));
        return 0;
    }

    /// <summary>gRPC message framing: a 0 (uncompressed) byte, the big-endian length, the message.</summary>
    public static byte[] GrpcFrame(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    private static readonly Marshaller<byte[]> RawBytes = Marshallers.Create(bytes => bytes, bytes => bytes);
}
