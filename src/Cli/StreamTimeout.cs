using Grpc.Core;

namespace Contoso.Retail.Cli;

/// <summary>
/// --timeout for a stream: a call that may run for as long as it keeps moving, and fails with DeadlineExceeded
/// once --timeout passes without a message. A deadline on the whole call would cut a long send short.
/// </summary>
public sealed class StreamTimeout : IDisposable
{
    private readonly TimeSpan _limit;
    private readonly string _waitingFor;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenSource _source;

    /// <param name="waitingFor">What did not arrive, for the error, e.g. "acknowledgement".</param>
    public StreamTimeout(TimeSpan limit, string waitingFor, CancellationToken cancellationToken)
    {
        (_limit, _waitingFor, _cancellationToken) = (limit, waitingFor, cancellationToken);
        _source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _source.CancelAfter(limit);
    }

    /// <summary>The call's token: the caller's (Ctrl+C), or this timeout's.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>True once the call was cancelled by this timeout rather than by the caller.</summary>
    public bool HasExpired => _source.IsCancellationRequested && !_cancellationToken.IsCancellationRequested;

    /// <summary>A message arrived: the next one has --timeout from now.</summary>
    public void Restart() => _source.CancelAfter(_limit);

    /// <summary>Awaits <paramref name="call"/>, reporting this timeout's cancellation as DeadlineExceeded.</summary>
    public async Task<T> RunAsync<T>(Task<T> call)
    {
        try
        {
            return await call;
        }
        catch (Exception ex) when (HasExpired && ex is RpcException or OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"no {_waitingFor} for {Durations.Format(_limit)} (--timeout); the stream was given up"));
        }
    }

    public void Dispose() => _source.Dispose();
}
