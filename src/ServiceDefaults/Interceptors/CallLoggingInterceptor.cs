using System.Diagnostics;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;


namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// Outermost: makes the caller's x-correlation-id (or a new one) current and logs one line per call: Debug on success
/// (a line per call costs more than the call), Information on a caller error, Warning on a server failure or slow call.
/// </summary>
public sealed partial class CallLoggingInterceptor(ILogger<CallLoggingInterceptor> logger, IConfiguration configuration) : Interceptor
{
    public static readonly TimeSpan DefaultSlowCallThreshold = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _slowCallThreshold = configuration.GetValue("Logging:SlowCallThreshold", DefaultSlowCallThreshold);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(context, checkSlow: true);
        try
        {
            var response = await continuation(request, context);
            call.Succeeded();
            return response;
        }
        catch (Exception ex)
        {
            call.Failed(ex);
            throw;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(context, checkSlow: false);
        try
        {
            var response = await continuation(requestStream, context);
            call.Succeeded();
            return response;
        }
        catch (Exception ex)
        {
            call.Failed(ex);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(context, checkSlow: false);
        try
        {
            await continuation(request, responseStream, context);
            call.Succeeded();
        }
        catch (Exception ex)
        {
            call.Failed(ex);
            throw;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(context, checkSlow: false);
        try
        {
            await continuation(requestStream, responseStream, context);
            call.Succeeded();
        }
        catch (Exception ex)
        {
            call.Failed(ex);
            throw;
        }
    }

    /// <summary>The level of the per-call line for a call that ended with <paramref name="code"/>.</summary>
    public static LogLevel LevelFor(StatusCode code) => code switch
    {
        StatusCode.OK => LogLevel.Debug,
        StatusCode.Cancelled or StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.AlreadyExists
            or StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.FailedPrecondition
            or StatusCode.Aborted or StatusCode.OutOfRange => LogLevel.Information,
        _ => LogLevel.Warning,
    };

    /// <summary>The caller's correlation id when it is safe to log, otherwise a new one.</summary>
    public static string CorrelationIdFrom(Metadata requestHeaders)
    {
        ArgumentNullException.ThrowIfNull(requestHeaders);
        return CorrelationIdFrom(requestHeaders.GetValue(CorrelationContext.HeaderName));
    }

    private static string CorrelationIdFrom(string? supplied) =>
        CorrelationContext.IsValid(supplied) ? supplied! : CorrelationContext.NewId();

    private CallScope Begin(ServerCallContext context, bool checkSlow)
    {
        var correlationId = CorrelationIdFrom(ServerCallHeaders.Get(context, CorrelationContext.HeaderName));
        var activity = Activity.Current;
        activity?.SetTag("correlation.id", correlationId);

        var http = context.GetHttpContext();
        if (!http.Response.HasStarted)
        {
            http.Response.Headers[CorrelationContext.HeaderName] = correlationId;
        }

        // CallLogEnricher puts the ids on the log lines written during the call, reading them only when one is written.
        var correlation = CorrelationContext.BeginCall(correlationId, activity, activity is null ? http.TraceIdentifier : null);
        return new CallScope(this, context, checkSlow, correlation);
    }

    private void LogCall(ServerCallContext context, StatusCode code, TimeSpan elapsed, bool checkSlow)
    {
        var level = LevelFor(code);
        if (checkSlow && elapsed > _slowCallThreshold)
        {
            level = LogLevel.Warning;
        }

        if (!logger.IsEnabled(level))
        {
            return;
        }

        var (service, method) = SplitMethod(context.Method);
        var elapsedMs = Math.Round(elapsed.TotalMilliseconds, 1);
        LogCompleted(logger, level, service, method, code, elapsedMs, context.Peer);
    }

    // "/inventory.v1.InventoryService/ReserveStock" -> ("inventory.v1.InventoryService", "ReserveStock")
    private static (string Service, string Method) SplitMethod(string fullMethod)
    {
        var slash = fullMethod.LastIndexOf('/');
        return slash <= 0 ? (fullMethod, "") : (fullMethod[1..slash], fullMethod[(slash + 1)..]);
    }

    private static StatusCode StatusOf(Exception ex, ServerCallContext context) => ex switch
    {
        RpcException rpc => rpc.StatusCode,
        OperationCanceledException when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
        _ => StatusCode.Unknown,
    };

    [LoggerMessage(Message = "gRPC {GrpcService}/{GrpcMethod} {StatusCode} in {ElapsedMs} ms from {Peer}")]
    private static partial void LogCompleted(
        ILogger logger, LogLevel level, string grpcService, string grpcMethod, StatusCode statusCode, double elapsedMs, string peer);

    /// <summary>One call in flight: its timer and its correlation scope (which also gives its log lines their ids).</summary>
    private sealed class CallScope(
        CallLoggingInterceptor owner, ServerCallContext context, bool checkSlow, IDisposable correlation) : IDisposable
    {
        private readonly long _started = Stopwatch.GetTimestamp();

        public void Succeeded() =>
            owner.LogCall(context, context.Status.StatusCode, Stopwatch.GetElapsedTime(_started), checkSlow);

        public void Failed(Exception ex) =>
            owner.LogCall(context, StatusOf(ex, context), Stopwatch.GetElapsedTime(_started), checkSlow);

        public void Dispose() => correlation.Dispose();
    }
}
