using System.Diagnostics;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.Extensions.Logging;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// Client side of correlation: every outgoing call carries <c>x-correlation-id</c> - the id of the call being
/// served (<see cref="CorrelationContext.Current"/>), or a new one for work no caller started - unless the
/// caller set one itself. Logs one Debug line per call with the target method, status code and duration.
/// </summary>
public sealed partial class CorrelationClientInterceptor(ILogger<CorrelationClientInterceptor> logger) : Interceptor
{
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = continuation(request, WithCorrelationId(context));
            LogCall(context.Method, StatusCode.OK, started);
            return response;
        }
        catch (RpcException ex)
        {
            LogCall(context.Method, ex.StatusCode, started);
            throw;
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(request, WithCorrelationId(context));
        return !logger.IsEnabled(LogLevel.Debug)
            ? call
            : new AsyncUnaryCall<TResponse>(
                LogWhenAnsweredAsync(call.ResponseAsync, context.Method, started),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(WithCorrelationId(context));
        return !logger.IsEnabled(LogLevel.Debug)
            ? call
            : new AsyncClientStreamingCall<TRequest, TResponse>(
                call.RequestStream,
                LogWhenAnsweredAsync(call.ResponseAsync, context.Method, started),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(request, WithCorrelationId(context));
        return !logger.IsEnabled(LogLevel.Debug)
            ? call
            : new AsyncServerStreamingCall<TResponse>(
                new LoggedResponseStream<TResponse>(call.ResponseStream, code => LogCall(context.Method, code, started)),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(WithCorrelationId(context));
        return !logger.IsEnabled(LogLevel.Debug)
            ? call
            : new AsyncDuplexStreamingCall<TRequest, TResponse>(
                call.RequestStream,
                new LoggedResponseStream<TResponse>(call.ResponseStream, code => LogCall(context.Method, code, started)),
                call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private static ClientInterceptorContext<TRequest, TResponse> WithCorrelationId<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (context.Options.Headers?.Get(CorrelationContext.HeaderName) is not null)
        {
            return context;
        }

        var headers = new Metadata();
        foreach (var entry in context.Options.Headers ?? [])
        {
            headers.Add(entry);
        }

        headers.Add(CorrelationContext.HeaderName, CorrelationContext.Current ?? CorrelationContext.NewId());
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    private async Task<TResponse> LogWhenAnsweredAsync<TResponse>(Task<TResponse> response, IMethod method, long started)
    {
        try
        {
            var answer = await response.ConfigureAwait(false);
            LogCall(method, StatusCode.OK, started);
            return answer;
        }
        catch (RpcException ex)
        {
            LogCall(method, ex.StatusCode, started);
            throw;
        }
    }

    private void LogCall(IMethod method, StatusCode code, long started)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var elapsedMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);
            LogCompleted(logger, method.ServiceName, method.Name, code, elapsedMs);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC client {GrpcService}/{GrpcMethod} {StatusCode} in {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, string grpcService, string grpcMethod, StatusCode statusCode, double elapsedMs);

    /// <summary>Reports the call's status once, when the response stream ends or fails.</summary>
    private sealed class LoggedResponseStream<T>(IAsyncStreamReader<T> inner, Action<StatusCode> completed) : IAsyncStreamReader<T>
    {
        private int _reported;

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                var more = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
                if (!more)
                {
                    Report(StatusCode.OK);
                }

                return more;
            }
            catch (RpcException ex)
            {
                Report(ex.StatusCode);
                throw;
            }
        }

        private void Report(StatusCode code)
        {
            if (Interlocked.Exchange(ref _reported, 1) == 0)
            {
                completed(code);
            }
        }
    }
}
