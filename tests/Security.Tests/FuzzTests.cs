using System.Diagnostics;
using System.Globalization;

using Contoso.Retail.Contracts;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// A bounded, seeded fuzz loop over every contract method: thousands of mutated requests each, every answer a gRPC
/// status the method may give (INVALID_ARGUMENT for bytes that do not parse, never UNKNOWN, never a hang), the
/// services keep answering health checks, and memory stays bounded.
/// Rerun one failure: SECURITY_FUZZ_SEED=&lt;seed&gt; with the case number printed in the failure; SECURITY_FUZZ_METHOD=&lt;part
/// of a method path&gt; fuzzes only the methods whose path contains it.
/// </summary>
public class FuzzTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private const int DefaultSeed = 20_251_126;
    private const int CallsPerMethod = 2_000;
    private const int MinimumCallsPerMethod = 200;
    private const int Concurrency = 8;

    /// <summary>The whole loop stops here whatever the machine's speed; each method gets an equal share.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(50);

    /// <summary>A parseable request must never hang the server; reaching this fails the case.</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Fact]
    [Trait("Category", "Long")]
    public async Task Thousands_of_mutated_requests_per_method_get_allowed_statuses_while_the_services_stay_healthy_and_memory_bounded()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SECURITY_FUZZ_SEED"), CultureInfo.InvariantCulture, out var chosen) ? chosen : DefaultSeed;
        var system = fixture.System;
        var only = Environment.GetEnvironmentVariable("SECURITY_FUZZ_METHOD");
        var paths = ContractMethods.All.Select(ContractMethods.Path)
            .Where(path => string.IsNullOrEmpty(only) || path.Contains(only, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        var failures = new List<string>();
        var perMethod = new SortedDictionary<string, object>(StringComparer.Ordinal);
        var memory = new MemorySamples();
        var started = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.GetDirectoryName(SecurityFigures.FilePath)!);
        var totalCalls = 0;
        var unknown = 0;

        for (var m = 0; m < paths.Count; m++)
        {
            var path = paths[m];
            var method = RawGrpc.Descriptor(path);
            var sample = MethodSamples.ByPath[path];
            var host = system.HostOf(method);
            var raw = RawGrpc.Method(method);
            var share = (Budget - started.Elapsed) / (paths.Count - m);
            // A read (NO_SIDE_EFFECTS in the proto) waits for no writer (SQLite in WAL mode): ending at its deadline is a hang.
            StatusCode[] underLoad = method.GetOptions()?.IdempotencyLevel == Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel.NoSideEffects
                ? [StatusCode.ResourceExhausted]
                : RequestBytes.UnderLoad;
            var methodClock = Stopwatch.StartNew();
            Progress($"{path}: start, share {share.TotalSeconds:0.0} s");
            var codes = new StatusCode[CallsPerMethod];
            var done = new bool[CallsPerMethod];

            await Parallel.ForEachAsync(Enumerable.Range(0, CallsPerMethod), new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = Ct }, async (i, ct) =>
            {
                // The time share caps a method's calls, never below the minimum: a slow method before it (Ingest under
                // load) must not leave the last methods untested.
                if (methodClock.Elapsed > share && i >= MinimumCallsPerMethod)
                {
                    return;
                }

                var caseSeed = CaseSeed(seed, path, i);
                var (strategy, messages) = Mutator.Mutate(sample.Valid, new Random(caseSeed));
                var parses = messages.All(bytes => RequestBytes.Parses(method, bytes));
                var (code, detail) = await CallAsync(host, raw, messages, ct);
                StatusCode[] allowed = [.. parses ? sample.Outcomes : RequestBytes.Unparseable(method), .. underLoad];
                codes[i] = code;
                done[i] = true;
                if (code == StatusCode.Unknown)
                {
                    Interlocked.Increment(ref unknown);
                }
                if (!allowed.Contains(code))
                {
                    lock (failures)
                    {
                        failures.Add($"{path} case {i} (seed {seed}, {strategy}, {(parses ? "parses" : "does not parse")}): {code} \"{detail}\", allowed {string.Join("/", allowed)}");
                    }
                }

                if (Interlocked.Increment(ref totalCalls) % 500 == 0)
                {
                    memory.Sample();
                }
            });

            var answered = codes.Where((_, i) => done[i]).ToList();
            Progress($"{path}: {answered.Count} calls in {methodClock.Elapsed.TotalSeconds:0.0} s");
            perMethod[path] = new { calls = answered.Count, seconds = Math.Round(methodClock.Elapsed.TotalSeconds, 1), statuses = SecurityFigures.ByStatus(answered) };
            Assert.True(await system.AllServingAsync(), $"A service stopped serving after fuzzing {path}.");
        }

        memory.Sample();
        var calls = perMethod.Values.Sum(v => (int)v.GetType().GetProperty("calls")!.GetValue(v)!);
        SecurityFigures.Record("fuzz", new
        {
            seed,
            calls,
            seconds = Math.Round(started.Elapsed.TotalSeconds, 1),
            failures = failures.Count,
            unknown,
            firstFailures = failures.Take(20).ToList(),
            memory = memory.Summary(),
            perMethod,
        });

        Assert.Empty(failures.Take(20));
        Assert.Equal(0, unknown);
        Assert.All(perMethod.Values, v => Assert.True((int)v.GetType().GetProperty("calls")!.GetValue(v)! >= MinimumCallsPerMethod, $"Each method gets at least {MinimumCallsPerMethod} mutated requests."));
        // The services run in the test process: the bound covers their caches (EF, SQLite, tokens) plus the test's own,
        // which include the send buffers its gRPC client keeps in ArrayPool.Shared (see Mutator.MaxExtremeMessageBytes).
        Assert.True(memory.ManagedGrowthMb < 64, $"Managed heap after full GC grew by {memory.ManagedGrowthMb} MB.");
        Assert.True(memory.WorkingSetGrowthMb < 512, $"Working set grew by {memory.WorkingSetGrowthMb} MB.");
    }

    /// <summary>
    /// A case whose client streams its request runs on a connection of its own. When the service ends such a call while the
    /// client is still writing, the .NET client can send a DATA frame after its own RST_STREAM (dotnet/runtime#1510);
    /// Kestrel then closes the whole connection with STREAM_CLOSED, and every other call on it fails or is replayed.
    /// </summary>
    private static async Task<(StatusCode Code, string Detail)> CallAsync(RunningService host, Method<byte[], byte[]> method, IReadOnlyList<byte[]> messages, CancellationToken ct)
    {
        if (method.Type is MethodType.Unary or MethodType.ServerStreaming)
        {
            return await RawGrpc.CallWithDetailAsync(host.Channel, method, messages, DateTime.UtcNow + CallDeadline, cancellationToken: ct);
        }

        using var own = host.CreateChannel(host.Token);
        return await RawGrpc.CallWithDetailAsync(own, method, messages, DateTime.UtcNow + CallDeadline, cancellationToken: ct);
    }

    /// <summary>Where a slow or stuck run can be watched: TestResults/fuzz-progress.log.</summary>
    private static void Progress(string line) =>
        File.AppendAllText(Path.Combine(Path.GetDirectoryName(SecurityFigures.FilePath)!, "fuzz-progress.log"), $"{DateTime.UtcNow:HH:mm:ss.fff} {line}{Environment.NewLine}");

    /// <summary>Stable across processes (string.GetHashCode is not), so a printed case number reproduces.</summary>
    private static int CaseSeed(int seed, string path, int index)
    {
        var hash = 2_166_136_261u;
        foreach (var c in path)
        {
            hash = (hash ^ c) * 16_777_619u;
        }

        return unchecked((int)hash ^ (seed * 31) ^ index);
    }
}

/// <summary>Working set sampled during a scenario, and the managed heap after a full GC before and after it (the process hosts the services).</summary>
public sealed class MemorySamples
{
    private readonly long _managedBefore = GC.GetTotalMemory(forceFullCollection: true);
    private readonly List<long> _workingSet = [Environment.WorkingSet];
    private long? _managedAfter;

    public double ManagedGrowthMb => Math.Round(((_managedAfter ??= GC.GetTotalMemory(forceFullCollection: true)) - _managedBefore) / 1048576.0, 1);

    public double WorkingSetGrowthMb
    {
        get
        {
            lock (_workingSet)
            {
                return Mb(_workingSet.Max() - _workingSet[0]);
            }
        }
    }

    public void Sample()
    {
        lock (_workingSet)
        {
            _workingSet.Add(Environment.WorkingSet);
        }
    }

    public object Summary()
    {
        lock (_workingSet)
        {
            return new
            {
                samples = _workingSet.Count,
                workingSetStartMb = Mb(_workingSet[0]),
                workingSetMaxMb = Mb(_workingSet.Max()),
                workingSetEndMb = Mb(_workingSet[^1]),
                managedHeapGrowthMb = ManagedGrowthMb,
            };
        }
    }

    private static double Mb(long bytes) => Math.Round(bytes / 1048576.0, 1);
}
