using Contoso.Retail.Contracts;

using Google.Protobuf.Reflection;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Calls any contract method with request bytes of the test's choosing (a pass-through marshaller), so malformed,
/// truncated and random payloads reach the server exactly as written. Every outcome is a status code, never a throw.
/// </summary>
public static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>The bound on any one call: hostile input must never hang a call, so reaching it fails the test.</summary>
    public static readonly TimeSpan CallBound = TimeSpan.FromSeconds(20);

    /// <summary>Every method the contracts declare (enumerated from the compiled descriptors), as theory data.</summary>
    public static TheoryData<string> AllMethodPaths() => [.. ContractMethods.All.Select(ContractMethods.Path).Order(StringComparer.Ordinal)];

    public static MethodDescriptor Descriptor(string path) =>
        ContractMethods.Find(path) ?? throw new ArgumentException($"{path} is not a contract method.", nameof(path));

    public static Method<byte[], byte[]> Method(MethodDescriptor method) => Method(
        method.IsClientStreaming
            ? method.IsServerStreaming ? MethodType.DuplexStreaming : MethodType.ClientStreaming
            : method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary,
        method.Service.FullName, method.Name);

    public static Method<byte[], byte[]> Method(MethodType type, string service, string name) => new(type, service, name, Bytes, Bytes);

    /// <summary>
    /// Sends <paramref name="messages"/> (one for unary and server-streaming methods) and returns the call's status.
    /// A server stream that delivers a first message counts as OK and is then cancelled (WatchStock never ends).
    /// </summary>
    /// <returns>The status, or <see cref="Hung"/> when the call outlived its deadline by more than <see cref="HangMargin"/>.</returns>
    public static async Task<StatusCode> CallAsync(
        GrpcChannel channel, Method<byte[], byte[]> method, IReadOnlyList<byte[]> messages,
        DateTime? deadline = null, Metadata? headers = null, CancellationToken cancellationToken = default) =>
        (await CallWithDetailAsync(channel, method, messages, deadline, headers, cancellationToken)).Code;

    /// <summary>As <see cref="CallAsync"/>, with the status detail (empty on success).</summary>
    public static async Task<(StatusCode Code, string Detail)> CallWithDetailAsync(
        GrpcChannel channel, Method<byte[], byte[]> method, IReadOnlyList<byte[]> messages,
        DateTime? deadline = null, Metadata? headers = null, CancellationToken cancellationToken = default)
    {
        var limit = deadline ?? DateTime.UtcNow + CallBound;
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var call = CallForErrorAsync(channel, method, messages, limit, headers, abandon.Token);
        var wait = limit - DateTime.UtcNow + HangMargin;
        if (await Task.WhenAny(call, Task.Delay(wait > TimeSpan.Zero ? wait : HangMargin, cancellationToken)) != call)
        {
            await abandon.CancelAsync();
            return (Hung, "no answer");
        }

        return await call is { } ex ? (ex.StatusCode, ex.Status.Detail) : (StatusCode.OK, "");
    }

    /// <summary>Not a gRPC status: the call neither finished nor failed in time (the deadline should have ended it).</summary>
    public const StatusCode Hung = (StatusCode)(-1);

    /// <summary>How long past its deadline a call may take to report it before it counts as hung.</summary>
    public static readonly TimeSpan HangMargin = TimeSpan.FromSeconds(10);

    /// <summary>As <see cref="CallAsync"/>, but the RpcException itself (null on success), for tests that read details.</summary>
    public static async Task<RpcException?> CallForErrorAsync(
        GrpcChannel channel, Method<byte[], byte[]> method, IReadOnlyList<byte[]> messages,
        DateTime? deadline = null, Metadata? headers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(messages);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(headers, deadline ?? DateTime.UtcNow + CallBound, cancellationToken);
        try
        {
            switch (method.Type)
            {
                case MethodType.Unary:
                    using (var call = invoker.AsyncUnaryCall(method, null, options, messages[0]))
                    {
                        await call.ResponseAsync;
                    }

                    break;
                case MethodType.ServerStreaming:
                    using (var call = invoker.AsyncServerStreamingCall(method, null, options, messages[0]))
                    {
                        await call.ResponseStream.MoveNext(cancellationToken);
                    }

                    break;
                // The answer can come before the last write (the service refused an earlier message). A write then waiting
                // for flow-control credit the service will never grant outlives the finished call, whose deadline no longer
                // ends it: wait for the answer, not the writes; leaving the using block abandons what was not sent.
                case MethodType.ClientStreaming:
                    using (var call = invoker.AsyncClientStreamingCall(method, null, options))
                    {
                        _ = WriteAllAsync(call.RequestStream, messages);
                        await call.ResponseAsync;
                    }

                    break;
                default:
                    using (var call = invoker.AsyncDuplexStreamingCall(method, null, options))
                    {
                        _ = WriteAllAsync(call.RequestStream, messages);
                        await DrainAsync(call.ResponseStream, cancellationToken);
                    }

                    break;
            }

            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
        catch (HttpRequestException ex)
        {
            // The client's HTTP/2 connection failed under this call (e.g. trailers beyond its 64 KB limit): not a status.
            return new RpcException(new Status(TransportFailure, ex.Message, ex));
        }
    }

    /// <summary>Not a gRPC status: the client's connection failed instead of the call getting one.</summary>
    public const StatusCode TransportFailure = (StatusCode)(-2);

    public static Task<RpcException?> CallForErrorAsync(
        GrpcChannel channel, MethodDescriptor method, IReadOnlyList<byte[]> messages, Metadata? headers = null, CancellationToken cancellationToken = default) =>
        CallForErrorAsync(channel, Method(method), messages, null, headers, cancellationToken);

    /// <summary>Writes what it can: once the server has answered (e.g. refused the first message) the rest is moot, and the status says why.</summary>
    private static async Task WriteAllAsync(IClientStreamWriter<byte[]> writer, IReadOnlyList<byte[]> messages)
    {
        try
        {
            foreach (var message in messages)
            {
                await writer.WriteAsync(message);
            }

            await writer.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or OperationCanceledException)
        {
            // The call's status says why; a write the finished call abandoned ends here too.
        }
    }

    private static async Task DrainAsync(IAsyncStreamReader<byte[]> reader, CancellationToken cancellationToken)
    {
        while (await reader.MoveNext(cancellationToken))
        {
        }
    }
}

/// <summary>What the server's own parser (Google.Protobuf) makes of request bytes.</summary>
public static class RequestBytes
{
    /// <summary>True when the method's request type parses from <paramref name="bytes"/>: then the handler must answer it properly.</summary>
    public static bool Parses(MethodDescriptor method, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(method);
        try
        {
            method.InputType.Parser.ParseFrom(bytes);
            return true;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>What the server answers to bytes it cannot deserialize, on every method shape (ServiceDefaults' UnparseableRequests).</summary>
    public static StatusCode[] Unparseable(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return [StatusCode.InvalidArgument];
    }

    /// <summary>
    /// Answers any method may give to any request when it protects itself: RESOURCE_EXHAUSTED (a message over
    /// Grpc:MaxMessageSize, or Kestrel refusing a stream with ENHANCE_YOUR_CALM when a connection has too many streams
    /// still finishing) and DEADLINE_EXCEEDED (the call could not finish in time; SQLite takes one writer at a time).
    /// </summary>
    public static readonly StatusCode[] UnderLoad = [StatusCode.ResourceExhausted, StatusCode.DeadlineExceeded];
}
