using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// Gives an outgoing call a deadline when it has none. Call-context propagation runs first, so a deadline
/// propagated from the incoming call wins; only calls without one (background work, callers that set no
/// deadline) get <paramref name="timeout"/> (GrpcClients:DefaultDeadline). A call never waits forever.
/// </summary>
public sealed class DefaultDeadlineInterceptor(TimeProvider clock, TimeSpan timeout) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, WithDeadline(context));
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, WithDeadline(context));
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, WithDeadline(context));
    }

    // Client and duplex streams are long-lived by design (telemetry uploads): a default deadline would cut them off.
    private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (context.Options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            return context;
        }

        return new ClientInterceptorContext<TRequest, TResponse>(
            context.Method, context.Host, context.Options.WithDeadline(clock.GetUtcNow().UtcDateTime + timeout));
    }
}
