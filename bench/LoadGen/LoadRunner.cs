using System.Diagnostics;

namespace Contoso.Retail.LoadGen;

/// <summary>One operation of a scenario (a unary call, a stream batch, a COPY) run by one worker.</summary>
public interface IWorker : IAsyncDisposable
{
    /// <summary>Runs one operation; returns how many items (messages, points) it moved. Throws on failure.</summary>
    ValueTask<long> ExecuteAsync(CancellationToken cancellationToken);
}

/// <summary>Creates the workers of a scenario; worker i uses connection i % connections.</summary>
public interface IScenario : IAsyncDisposable
{
    /// <summary>What an item is, for the output ("calls", "messages", "points").</summary>
    string ItemUnit { get; }

    ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken);
}

/// <summary>
/// Drives <see cref="LoadOptions.Concurrency"/> workers. Closed loop: each worker starts its next operation when
/// the last one ends. Open loop (--rate): each worker is due to start operations at fixed intervals and latency
/// counts from when an operation was due, not when it started, so a stalled server is not hidden by the client
/// waiting for it (coordinated omission). Operations due during warm-up are not recorded.
/// </summary>
public static class LoadRunner
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);

    public static async Task<RunResult> RunAsync(LoadOptions options, IScenario scenario, TextWriter progressOut, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(progressOut);

        var workers = new IWorker[options.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = await scenario.CreateWorkerAsync(i, cancellationToken);
        }

        var stats = Enumerable.Range(0, workers.Length).Select(_ => new WorkerStats()).ToArray();
        var frequency = Stopwatch.Frequency;
        var started = Stopwatch.GetTimestamp();
        var measureStart = started + (long)(options.Warmup.TotalSeconds * frequency);
        var measureEnd = options.Requests is null ? measureStart + (long)(options.Duration.TotalSeconds * frequency) : long.MaxValue;
        var tickets = new Tickets(options.Requests);

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loops = workers.Select((worker, i) => Task.Run(
            () => options.Rate is { } rate
                ? OpenLoopAsync(worker, stats[i], rate / workers.Length, i, workers.Length, started, measureStart, measureEnd, tickets, abort.Token)
                : ClosedLoopAsync(worker, stats[i], measureStart, measureEnd, tickets, abort.Token),
            CancellationToken.None)).ToArray();

        var cpu = new CpuSampler(options.ServerPid);
        var loadBefore = CpuSampler.LoadAverage();
        using var progressStop = new CancellationTokenSource();
        var progress = options.Progress
            ? ProgressAsync(options, stats, started, measureStart, progressOut, progressStop.Token)
            : Task.CompletedTask;

        var all = Task.WhenAll(loops);
        var sampling = SampleCpuAsync(cpu, options, started, all, cancellationToken);
        var hardStop = options.Requests is null
            ? options.Warmup + options.Duration + DrainTimeout
            : Timeout.InfiniteTimeSpan;
        if (await Task.WhenAny(all, Task.Delay(hardStop, cancellationToken)) != all)
        {
            await abort.CancelAsync();
        }

        try
        {
            await all;
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Operations still running at the hard stop are left out.
        }

        var finished = Stopwatch.GetTimestamp();
        var (clientCpu, serverCpu) = await sampling;
        await progressStop.CancelAsync();
        await progress;
        if (options.Progress)
        {
            await progressOut.WriteLineAsync();
        }

        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }

        var measuredSeconds = options.Requests is null
            ? options.Duration.TotalSeconds
            : (finished - measureStart) / (double)frequency;
        return RunResult.From(options, scenario.ItemUnit, stats, measuredSeconds) with
        {
            ClientCpu = clientCpu,
            ServerCpu = serverCpu,
            LoadAverage = Math.Max(loadBefore ?? 0, CpuSampler.LoadAverage() ?? 0),
        };
    }

    /// <summary>CPU use over the measured window (warm-up excluded): from its start to its end, or to the last request.</summary>
    private static async Task<(double Client, double? Server)> SampleCpuAsync(
        CpuSampler cpu, LoadOptions options, long started, Task loops, CancellationToken cancellationToken)
    {
        var untilMeasuring = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), started + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency));
        if (untilMeasuring > TimeSpan.Zero)
        {
            await Task.Delay(untilMeasuring, cancellationToken);
        }

        cpu.Start();
        await (options.Requests is null ? Task.Delay(options.Duration, cancellationToken) : Task.WhenAny(loops));
        return cpu.Stop();
    }

    private static async Task ClosedLoopAsync(
        IWorker worker, WorkerStats stats, long measureStart, long measureEnd, Tickets tickets, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            if (start >= measureEnd)
            {
                return;
            }

            var measured = start >= measureStart;
            if (measured && !tickets.Take())
            {
                return;
            }

            await ExecuteAsync(worker, stats, measured, start, cancellationToken);
        }
    }

    private static async Task OpenLoopAsync(
        IWorker worker, WorkerStats stats, double ratePerWorker, int index, int workers,
        long started, long measureStart, long measureEnd, Tickets tickets, CancellationToken cancellationToken)
    {
        var interval = Stopwatch.Frequency / ratePerWorker;

        // Workers are staggered so their operations are spread over the interval rather than bunched.
        var offset = interval * index / workers;
        for (long k = 0; !cancellationToken.IsCancellationRequested; k++)
        {
            var due = started + (long)(offset + (k * interval));
            if (due >= measureEnd)
            {
                return;
            }

            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            var measured = due >= measureStart;
            if (measured && !tickets.Take())
            {
                return;
            }

            await ExecuteAsync(worker, stats, measured, due, cancellationToken);
        }
    }

    private static async Task ExecuteAsync(IWorker worker, WorkerStats stats, bool measured, long due, CancellationToken cancellationToken)
    {
        try
        {
            var items = await worker.ExecuteAsync(cancellationToken);
            if (measured)
            {
                stats.RecordOk(due, Stopwatch.GetTimestamp(), items);
            }
            else
            {
                stats.RecordWarmup();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A failed call is a measurement (counted by status code), not a reason to stop the run.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (measured)
            {
                stats.RecordError(WorkerStats.CodeOf(ex));
            }
            else
            {
                stats.RecordWarmup();
            }
        }
    }

    private static async Task ProgressAsync(
        LoadOptions options, WorkerStats[] stats, long started, long measureStart, TextWriter output, CancellationToken cancellationToken)
    {
        // A terminal gets one line rewritten every second; a log file a line every 5 s.
        var interactive = !Console.IsErrorRedirected;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(interactive ? 1 : 5));
        long lastCount = 0;
        var lastTime = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var ok = stats.Sum(s => s.Ok);
                var failed = stats.Sum(s => s.Failed);
                var warmup = stats.Sum(s => s.Warmup);
                var count = ok + failed + warmup;
                var rate = (count - lastCount) / Stopwatch.GetElapsedTime(lastTime, now).TotalSeconds;
                (lastCount, lastTime) = (count, now);
                var phase = now < measureStart ? "warm-up" : "measure";
                var line = $"[{options.Label}] {phase} {Stopwatch.GetElapsedTime(started, now).TotalSeconds,5:F0}s  {rate,9:N0} ops/s  ok {ok,10:N0}  errors {failed:N0}";
                await output.WriteAsync(interactive ? "\r" + line : line + Environment.NewLine);
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    /// <summary>The measured operations still allowed in --requests mode (unbounded otherwise).</summary>
    private sealed class Tickets(long? total)
    {
        private long _left = total ?? long.MaxValue;

        public bool Take() => Interlocked.Decrement(ref _left) >= 0;
    }
}
