using System.Collections.Concurrent;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>
/// A server interceptor that counts the unary calls reaching one instance, by method name, and can be told to
/// answer UNAVAILABLE instead of serving them (an instance that is up but failing).
/// </summary>
public sealed class CallCounter : Interceptor
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    private volatile bool _failWithUnavailable;

    public bool FailWithUnavailable
    {
        get => _failWithUnavailable;
        set => _failWithUnavailable = value;
    }

    /// <summary>Calls of <paramref name="method"/> (e.g. "ReserveStock") that reached this instance.</summary>
    public int this[string method] => _calls.GetValueOrDefault(method);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        return FailWithUnavailable
            ? throw new RpcException(new Status(StatusCode.Unavailable, "This instance is failing (test)."))
            : continuation(request, context);
    }
}
