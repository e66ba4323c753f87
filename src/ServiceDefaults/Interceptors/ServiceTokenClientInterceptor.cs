using System.Collections.Concurrent;

using Contoso.Retail.Contracts;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// Puts this service's own token on every server-to-server call, as call credentials so fetching it is async on every
/// call shape; the channel must allow call credentials (TLS, or UnsafeUseInsecureChannelCallCredentials in-cluster).
/// </summary>
public sealed class ServiceTokenClientInterceptor(ServiceTokens tokens) : Interceptor
{
    private readonly ConcurrentDictionary<string, CallCredentials> _credentials = new(StringComparer.Ordinal);

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithToken(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithToken(context));

    private ClientInterceptorContext<TRequest, TResponse> WithToken<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var ours = _credentials.GetOrAdd(context.Method.FullName, Credentials);
        var credentials = context.Options.Credentials is { } theirs ? CallCredentials.Compose(theirs, ours) : ours;
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithCredentials(credentials));
    }

    private CallCredentials Credentials(string method)
    {
        var scope = ContractMethods.RequiredScope(method);
        return CallCredentials.FromInterceptor(async (call, metadata) =>
            metadata.Add(AuthInterceptor.Header, $"Bearer {await tokens.GetAsync(scope, call.CancellationToken)}"));
    }
}
