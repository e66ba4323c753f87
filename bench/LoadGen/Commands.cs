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
                            --device ID (query), --batch-size N (stream-ingest, pg-copy), --pg CONNSTR (pg-copy),
                            --ledger FILE (place-order: units acknowledged per SKU, for `ledger`)
              ledger        --target INVENTORY_URL --dev-token --files A.json,B.json   reserved stock == acknowledged?
              prepare       --target URL --dev-token [--sku BENCH-1,BENCH-2 --available N] [--watch-items N]
                            [--device ID --points N] (telemetry target)
              wait-serving  --target URL [--timeout 60s] [--since-unix-ms T] [--call SERVICE/METHOD]
                            prints ms until grpc.health.v1 SERVING (or, with --call, until that unary method answers
                            an empty request with OK: for servers with no health service, such as the plain Greeter)
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
        var skus = args.List("sku", []);
        var available = args.Count("available", 1_000_000_000);
        var watchItems = args.Count("watch-items", 0);
        var device = args.Get("device");
        var points = args.Count("points", 0);
        args.ThrowIfUnknown();

        using var channels = await Channels.OpenAsync(target, 1, token, cancellationToken);
        var options = channels.CallOptions.WithCancellationToken(cancellationToken);
        var inventory = new InventoryService.InventoryServiceClient(channels.For(0));
        foreach (var sku in skus)
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

    /// <summary>
    /// The PlaceOrder ledger: for every SKU in the --ledger files the place-order runs wrote, the units Inventory holds
    /// reserved must equal the units of the orders acknowledged as CONFIRMED (plus, at most, the units of calls that
    /// ended without an answer, which may or may not have been placed). Prints one line; exit 1 on a mismatch.
    /// </summary>
    public static async Task<int> LedgerAsync(Arguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var target = args.Required("target");
        var token = Channels.TokenFrom(args);
        var files = args.List("files", []);
        args.ThrowIfUnknown();

        var ledger = new PlaceOrderLedger();
        foreach (var file in files)
        {
            ledger.Add(PlaceOrderLedger.Read(file));
        }

        using var channels = await Channels.OpenAsync(target, 1, token, cancellationToken);
        var inventory = new InventoryService.InventoryServiceClient(channels.For(0));
        var options = channels.CallOptions.WithCancellationToken(cancellationToken);
        var mismatches = new List<string>();
        long acked = 0, reserved = 0, unknown = 0;
        foreach (var (sku, units) in ledger.Acknowledged.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var item = (await inventory.GetItemAsync(new GetItemRequest { Sku = sku }, options)).Item;
            var open = ledger.Unanswered.GetValueOrDefault(sku);
            acked += units;
            reserved += item.Reserved;
            unknown += open;
            if (item.Reserved < units || item.Reserved > units + open)
            {
                mismatches.Add($"{sku}: reserved {item.Reserved}, acknowledged {units}, unanswered {open}");
            }
        }

        var exact = mismatches.Count == 0 && reserved == acked;
        Console.WriteLine(mismatches.Count > 0
            ? $"ledger MISMATCH: {string.Join("; ", mismatches)}"
            : $"ledger {(exact ? "exact" : "consistent")}: {ledger.Acknowledged.Count} SKUs, {reserved:N0} units reserved, " +
              $"{acked:N0} acknowledged, {unknown:N0} in calls without an answer");
        return mismatches.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Polls grpc.health.v1.Health/Check ("" = readiness) until SERVING, or with --call a unary method until it answers an
    /// empty request with OK; prints the milliseconds it took.
    /// </summary>
    public static async Task<int> WaitServingAsync(Arguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var target = args.Required("target");
        var timeout = args.Duration("timeout", TimeSpan.FromSeconds(60));
        var since = args.WholeNumber("since-unix-ms");
        var call = args.Get("call");
        args.ThrowIfUnknown();

        var origin = since is { } unixMs ? DateTimeOffset.FromUnixTimeMilliseconds(unixMs) : DateTimeOffset.UtcNow;
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var check = call is null
            ? new Method<byte[], byte[]>(MethodType.Unary, "grpc.health.v1.Health", "Check", RawBytes, RawBytes)
            : call.Split('/', StringSplitOptions.RemoveEmptyEntries) is [var service, var method]
                ? new Method<byte[], byte[]>(MethodType.Unary, service, method, RawBytes, RawBytes)
                : throw new ArgumentException($"--call {call}: expected SERVICE/METHOD, e.g. greet.Greeter/SayHello");
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                // A fresh channel per attempt: a reused one backs off between reconnects (up to seconds), so it
                // would measure its own back-off rather than when the service started answering.
                using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(target);
                // HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status: SERVING} is field 1 = 1.
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                var response = await channel.CreateCallInvoker().AsyncUnaryCall(check, null, new CallOptions(cancellationToken: attempt.Token), []);
                if (call is not null || response is [0x08, 0x01])
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
