using System.Diagnostics;

using Grpc.Core;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>Bounded concurrent load: a fixed number of operations, at most so many at once.</summary>
internal static class Load
{
    public static Task RunAsync(int count, int concurrency, Func<int, CancellationToken, Task> operation) =>
        Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = TestContext.Current.CancellationToken },
            async (i, ct) => await operation(i, ct));

    /// <summary>Runs <paramref name="operation"/> on <paramref name="workers"/> loops until <paramref name="stop"/> is cancelled.</summary>
    public static Task RunUntilAsync(int workers, Func<int, CancellationToken, Task> operation, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await operation(worker, stop);
            }
        })));

    /// <summary>The status a call ended with, and how long it took.</summary>
    public static async Task<(StatusCode Status, TimeSpan Elapsed)> TimedAsync(Func<Task> call)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await call();
            return (StatusCode.OK, watch.Elapsed);
        }
        catch (RpcException ex)
        {
            return (ex.StatusCode, watch.Elapsed);
        }
    }
}
