using System.Threading.Channels;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Errors;
using Contoso.Retail.TelemetryIngest.Model;

using Microsoft.Extensions.Options;

namespace Contoso.Retail.TelemetryIngest.Domain;

/// <summary>Outcome of storing a StreamIngest batch.</summary>
public readonly record struct StoredBatch(int Points, bool Duplicate);

/// <summary>
/// Group commit for StreamIngest: batches arriving during a commit share the next transaction, and each caller
/// hears back only once it has committed. A failed group is retried batch by batch so one bad batch fails alone.
/// </summary>
public sealed partial class BatchWriter(
    TelemetryStore store,
    IOptions<TelemetryOptions> options,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<BatchWriter> logger) : BackgroundService
{
    /// <summary>Most batches in one group: keeps the claim statement's parameters (3 per batch) well within limits.</summary>
    public const int MaxBatchesPerCommit = 256;

    // Unbounded, but each stream hands over one batch and waits for its acknowledgement before reading the next,
    // so the queue holds at most one batch per open stream.
    private readonly Channel<PendingBatch> _queue = Channel.CreateUnbounded<PendingBatch>();

    private int _writing;

    /// <summary>Batches handed over and not yet taken into a transaction.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Batches in transactions that have not finished yet.</summary>
    public int Writing => Volatile.Read(ref _writing);

    /// <summary>
    /// Stores a batch exactly once and returns once it is committed (or known to be committed already).
    /// Cancelling stops the wait, not the write: a batch handed over may still commit, and a resend then reports
    /// it as a duplicate.
    /// </summary>
    public Task<StoredBatch> StoreAsync(string batchId, IReadOnlyList<TelemetryPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        var pending = new PendingBatch(batchId, points);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw RpcErrors.Unavailable("The server is shutting down; resend unacknowledged batches on a new stream.");
        }

        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        // Refuse new batches; the loops commit what is queued, then end.
        _queue.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.IngestWriters).Select(_ => Task.Run(WriteLoopAsync, CancellationToken.None)));

    private async Task WriteLoopAsync()
    {
        var maxPoints = options.Value.MaxPointsPerCommit;
        var group = new List<PendingBatch>();
        // Not the stopping token: queued batches are drained on shutdown, and the loop ends when the queue is completed.
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            // Whatever is queued now, until the group reaches the cap (so a group exceeds it by less than one batch).
            var points = 0;
            while (points < maxPoints && group.Count < MaxBatchesPerCommit && _queue.Reader.TryRead(out var next))
            {
                group.Add(next);
                points += next.Points.Count;
            }

            if (group.Count > 0)
            {
                Interlocked.Add(ref _writing, group.Count);
                try
                {
                    await CommitAsync(group);
                }
                finally
                {
                    Interlocked.Add(ref _writing, -group.Count);
                    group.Clear();
                }
            }
        }
    }

    private async Task CommitAsync(List<PendingBatch> group)
    {
        try
        {
            var outcomes = await WriteGroupAsync(group);
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Completion.TrySetResult(outcomes[i]);
            }
        }
        catch (Exception ex) when (group.Count > 1 && !DependencyFailures.IsTransient(ex))
        {
            // Possibly one batch the database refuses: find it by committing each alone.
            LogGroupFailed(ex, group.Count);
            foreach (var batch in group)
            {
                await CommitAsync([batch]);
            }
        }
        catch (Exception ex)
        {
            // The database is unreachable (or the batch is alone): retrying one by one would only wait out a timeout
            // per batch. The callers hear UNAVAILABLE and resend; a commit that did happen makes the resend a duplicate.
            foreach (var batch in group)
            {
                batch.Completion.TrySetException(ex);
            }
        }
    }

    /// <summary>One transaction: claim every new batch id, COPY the new batches' points, commit.</summary>
    private async Task<StoredBatch[]> WriteGroupAsync(List<PendingBatch> group)
    {
        // The same id twice in one group: the first occurrence is written, the others are its duplicates.
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < group.Count; i++)
        {
            first.TryAdd(group[i].BatchId, i);
        }

        // Cancellation is not used here: a group in progress finishes (command timeouts bound it), so that
        // shutdown never cuts a commit whose callers are still waiting.
        var cancellationToken = CancellationToken.None;
        await using var transaction = await store.BeginAsync(cancellationToken);
        var claims = first.Select(entry => (entry.Key, group[entry.Value].Points.Count)).ToList();
        var earlier = await transaction.ClaimBatchesAsync(claims, time.GetUtcNow().UtcDateTime, cancellationToken);
        foreach (var (batchId, index) in first)
        {
            if (!earlier.ContainsKey(batchId))
            {
                await transaction.WriteAsync(group[index].Points, cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        metrics.GroupCommitted(first.Count - earlier.Count);

        var outcomes = new StoredBatch[group.Count];
        for (var i = 0; i < group.Count; i++)
        {
            var batchId = group[i].BatchId;
            outcomes[i] = earlier.TryGetValue(batchId, out var storedPoints)
                ? new StoredBatch(storedPoints, Duplicate: true)
                : new StoredBatch(group[first[batchId]].Points.Count, Duplicate: first[batchId] != i);
        }

        return outcomes;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Batches} batches failed; committing each batch alone")]
    private partial void LogGroupFailed(Exception exception, int batches);

    private sealed class PendingBatch(string batchId, IReadOnlyList<TelemetryPoint> points)
    {
        public string BatchId { get; } = batchId;

        public IReadOnlyList<TelemetryPoint> Points { get; } = points;

        // Continuations run off the writer loop, so a slow caller cannot hold up the next commit.
        public TaskCompletionSource<StoredBatch> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
