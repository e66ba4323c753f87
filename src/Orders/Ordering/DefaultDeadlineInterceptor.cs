using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.Orders.Ordering;

/// <summary>
/// Gives an outgoing call a deadline when it has none. Registered after call-context propagation,
/// so a deadline propagated from the incoming call wins; only calls without one (background work,
/// callers that set no deadline) get <paramref name="timeout"/>. A call never waits forever.
/// </summary>
public sealed class DefaultDeadlineInterceptor(TimeProvider clock, TimeSpan timeout) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDeadline(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDeadline(context));

    private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (context.Options.Deadline is not null && context.Options.Deadline != DateTime.MaxValue)
        {
            return context;
        }

        var deadline = clock.GetUtcNow().UtcDateTime + timeout;
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(deadline));
    }
}
