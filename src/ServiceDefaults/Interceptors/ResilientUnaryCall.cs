using Grpc.Core;
using Grpc.Core.Interceptors;

using Polly;
using Polly.CircuitBreaker;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// One logical unary call made of one or more attempts. Response, headers, status and trailers are those of
/// the last attempt, or of the failure <see cref="RetryClientInterceptor"/> produced (circuit open, cancelled while waiting).
/// </summary>
internal sealed class ResilientUnaryCall<TRequest, TResponse> : IDisposable
    where TRequest : class
    where TResponse : class
{
    private readonly RetryClientInterceptor _owner;
    private readonly TRequest _request;
    private readonly Interceptor.AsyncUnaryCallContinuation<TRequest, TResponse> _continuation;
    private readonly CancellationTokenSource _cancellation;
    private readonly Func<ClientInterceptorContext<TRequest, TResponse>> _attemptContext;
    private readonly RetryClientInterceptor.CallFacts _facts;
    private volatile AsyncUnaryCall<TResponse>? _attempt;
    private volatile RpcException? _ownFailure;
    private Task<TResponse>? _response;

    public ResilientUnaryCall(
        RetryClientInterceptor owner, TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        Interceptor.AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        _owner = owner;
        _request = request;
        _continuation = continuation;
        // Cancelled by the caller's token or by Dispose; stops the attempt in flight and any wait.
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.Options.CancellationToken);
        _attemptContext = RetryClientInterceptor.AttemptContexts(context, _cancellation.Token);
        _facts = RetryClientInterceptor.CallFacts.Of(context);
    }

    public AsyncUnaryCall<TResponse> Start()
    {
        _response = RunAsync();
        return new AsyncUnaryCall<TResponse>(
            _response,
            static state => ((ResilientUnaryCall<TRequest, TResponse>)state).HeadersAsync(),
            static state => ((ResilientUnaryCall<TRequest, TResponse>)state).GetStatus(),
            static state => ((ResilientUnaryCall<TRequest, TResponse>)state).GetTrailers(),
            static state => ((ResilientUnaryCall<TRequest, TResponse>)state).Dispose(),
            this);
    }

    public void Dispose()
    {
        if (_response is { IsCompleted: false })
        {
            try
            {
                _cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call finished between the check and the cancel: there is nothing left to stop.
            }
        }

        _attempt?.Dispose();
    }

    private async Task<TResponse> RunAsync()
    {
        var resilience = ResilienceContextPool.Shared.Get(_cancellation.Token);
        resilience.Properties.Set(RetryClientInterceptor.Call, _facts);
        try
        {
            return await _owner.Pipeline.ExecuteAsync(
                static (_, self) => self.AttemptAsync(), resilience, this).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw _ownFailure = _owner.CircuitOpen(ex);
        }
        catch (OperationCanceledException ex) when (_cancellation.IsCancellationRequested)
        {
            throw _ownFailure = RetryClientInterceptor.CancelledByCaller(ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
            _cancellation.Dispose();
        }
    }

    private async ValueTask<TResponse> AttemptAsync()
    {
        if (_owner.TooLateToSend(_facts) is { } late)
        {
            throw _ownFailure = late;
        }

        var previous = _attempt;
        var attempt = _continuation(_request, _attemptContext());
        _attempt = attempt;
        previous?.Dispose();
        return await attempt.ResponseAsync.ConfigureAwait(false);
    }

    private async Task<Metadata> HeadersAsync()
    {
        await ((Task)_response!).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return (_ownFailure, _attempt) switch
        {
            (null, { } attempt) => await attempt.ResponseHeadersAsync.ConfigureAwait(false),
            ({ } failure, _) => throw failure,
            _ => throw NoAttempt(),
        };
    }

    private Status GetStatus() => (_ownFailure, _attempt) switch
    {
        ({ } failure, _) => failure.Status,
        (null, { } attempt) when _response!.IsCompleted => attempt.GetStatus(),
        _ => throw NoAttempt(),
    };

    private Metadata GetTrailers() => (_ownFailure, _attempt) switch
    {
        ({ } failure, _) => failure.Trailers,
        (null, { } attempt) when _response!.IsCompleted => attempt.GetTrailers(),
        _ => throw NoAttempt(),
    };

    private InvalidOperationException NoAttempt() =>
        new(_response!.IsCompleted
            ? "The call failed before any attempt reached the server; see the exception from ResponseAsync."
            : "Unable to get the status because the call is not complete.");
}
