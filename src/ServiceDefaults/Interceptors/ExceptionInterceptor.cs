using System.Diagnostics;

using Contoso.Retail.ServiceDefaults.Errors;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.Extensions.Logging;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// The last line of defence: RpcExceptions pass through untouched, cancellation becomes
/// CANCELLED/DEADLINE_EXCEEDED, a database that cannot be reached becomes UNAVAILABLE, and
/// anything else becomes INTERNAL with a generic message (the details go to the log, never to the client).
/// </summary>
public sealed partial class ExceptionInterceptor(ILogger<ExceptionInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    private RpcException Translate(Exception ex, ServerCallContext context)
    {
        // A client that cancels or resets a stream surfaces as OperationCanceledException or, mid-read, IOException.
        if (ex is OperationCanceledException or IOException && context.CancellationToken.IsCancellationRequested)
        {
            return context.Deadline <= DateTime.UtcNow
                ? new RpcException(new Status(StatusCode.DeadlineExceeded, "The call's deadline passed."))
                : new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
        }

        var traceId = Activity.Current?.TraceId.ToString() ?? context.GetHttpContext().TraceIdentifier;
        if (DependencyFailures.IsTransient(ex))
        {
            LogUnavailable(logger, ex, context.Method, traceId);
            return new RpcException(new Status(StatusCode.Unavailable, $"A dependency is unavailable; retry later. Trace id: {traceId}"));
        }

        if (ex is Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException)
        {
            LogUnavailable(logger, ex, context.Method, traceId);
            return new RpcException(new Status(StatusCode.Aborted, $"The data changed concurrently; retry the call. Trace id: {traceId}"));
        }

        LogUnhandled(logger, ex, context.Method, traceId);
        return new RpcException(new Status(StatusCode.Internal, $"An internal error occurred. Trace id: {traceId}"));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception in {GrpcMethod} (trace {TraceId})")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, string grpcMethod, string traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transient dependency failure in {GrpcMethod} (trace {TraceId})")]
    private static partial void LogUnavailable(ILogger logger, Exception ex, string grpcMethod, string traceId);
}
