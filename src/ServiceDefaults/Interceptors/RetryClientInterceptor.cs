using System.Globalization;

using Contoso.Retail.Contracts;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.Extensions.Logging;

using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;

using IdempotencyLevel = Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

// Hand-written around Polly rather than an HTTP resilience handler: a gRPC status arrives in trailers, which a handler
// never sees, and only methods the proto marks IDEMPOTENT or NO_SIDE_EFFECTS may be retried.
/// <summary>
/// Safe retries for unary calls to one downstream: UNAVAILABLE with jittered backoff, RESOURCE_EXHAUSTED only with
/// pushback, never past the deadline; a circuit breaker counts UNAVAILABLE. Streaming calls pass through untouched.
/// </summary>
public sealed partial class RetryClientInterceptor : Interceptor
{
    /// <summary>Trailer in which a server asks for a retry after that many milliseconds (gRFC A6).</summary>
    public const string PushbackTrailer = "grpc-retry-pushback-ms";

    /// <summary>
    /// The least time left before the deadline for which an attempt is sent. grpc-dotnet rounds the time left to
    /// whole milliseconds and sends less than half of one as "1n", which a grpc-dotnet server reads as no deadline.
    /// </summary>
    internal static readonly TimeSpan LeastTimeLeft = TimeSpan.FromMilliseconds(1);

    internal static readonly ResiliencePropertyKey<CallFacts> Call = new("grpc.call");
    private static readonly ResiliencePropertyKey<TimeSpan> NextDelay = new("grpc.next-delay");

    private readonly string _downstream;
    private readonly TimeProvider _clock;

    /// <summary>Retry (outer) and circuit breaker (inner), shared by every client of this downstream.</summary>
    internal ResiliencePipeline Pipeline { get; }

    /// <param name="downstream">The service called (e.g. "Inventory"); one circuit breaker per name.</param>
    public RetryClientInterceptor(
        string downstream,
        GrpcClientOptions options,
        ResiliencePipelineRegistry<string> pipelines,
        TimeProvider clock,
        ILogger<RetryClientInterceptor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pipelines);
        _downstream = downstream;
        _clock = clock;
        Pipeline = pipelines.GetOrAddPipeline(
            $"grpc-client:{downstream}", builder => Build(builder, downstream, options, clock, logger));
    }

    /// <summary>Whether the contract marks the method at <paramref name="path"/> IDEMPOTENT or NO_SIDE_EFFECTS.</summary>
    public static bool IsSafeToRetry(string path) =>
        ContractMethods.Find(path)?.GetOptions()?.IdempotencyLevel is IdempotencyLevel.Idempotent or IdempotencyLevel.NoSideEffects;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        new ResilientUnaryCall<TRequest, TResponse>(this, request, context, continuation).Start();

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var cancellation = context.Options.CancellationToken;
        var resilience = ResilienceContextPool.Shared.Get(cancellation);
        var call = CallFacts.Of(context);
        resilience.Properties.Set(Call, call);
        try
        {
            return Pipeline.Execute(
                static (_, s) => s.owner.TooLateToSend(s.call) is { } late ? throw late : s.continuation(s.request, s.Fresh()),
                resilience,
                (owner: this, call, request, continuation, Fresh: AttemptContexts(context)));
        }
        catch (BrokenCircuitException ex)
        {
            throw CircuitOpen(ex);
        }
        catch (OperationCanceledException ex) when (cancellation.IsCancellationRequested)
        {
            throw CancelledByCaller(ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    internal RpcException CircuitOpen(BrokenCircuitException ex) =>
        new(new Status(StatusCode.Unavailable,
            $"{_downstream} is failing: calls to it fail fast for {ex.RetryAfter?.TotalSeconds ?? 0:0.#} s (circuit open after repeated UNAVAILABLE).",
            ex));

    /// <summary>
    /// DEADLINE_EXCEEDED when less than <see cref="LeastTimeLeft"/> of the call's deadline is left, so the attempt
    /// is not sent; null when it may be. A backoff that ShouldRetry let start can end late on a busy machine.
    /// </summary>
    internal RpcException? TooLateToSend(CallFacts call) =>
        call.Deadline is { } deadline && deadline - _clock.GetUtcNow().UtcDateTime < LeastTimeLeft
            ? new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"The call's deadline passed before an attempt could be sent (less than {LeastTimeLeft.TotalMilliseconds:0} ms was left)."))
            : null;

    internal static RpcException CancelledByCaller(Exception ex) =>
        new(new Status(StatusCode.Cancelled, "The call was cancelled by the caller.", ex));

    /// <summary>
    /// Each attempt gets its own copy of the caller's headers, so an interceptor further in that adds a header
    /// (the service token) adds it once per attempt, never twice to one call.
    /// </summary>
    internal static Func<ClientInterceptorContext<TRequest, TResponse>> AttemptContexts<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, CancellationToken? cancellation = null)
        where TRequest : class
        where TResponse : class
    {
        var options = cancellation is { } token ? context.Options.WithCancellationToken(token) : context.Options;
        Metadata.Entry[] headers = options.Headers is { Count: > 0 } original ? [.. original] : [];
        return () =>
        {
            var fresh = new Metadata();
            foreach (var header in headers)
            {
                fresh.Add(header);
            }

            return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, options.WithHeaders(fresh));
        };
    }

    private static void Build(
        ResiliencePipelineBuilder builder, string downstream, GrpcClientOptions options, TimeProvider clock, ILogger logger)
    {
        builder.TimeProvider = clock;
        var retry = options.Retry;
        if (retry.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                // The decision and its delay are made together (the deadline check needs the delay); see ShouldRetry.
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args, retry, clock)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(NextDelay, TimeSpan.Zero)),
                OnRetry = args =>
                {
                    LogRetry(logger, downstream, args.Context.Properties.GetValue(Call, default).Method,
                        (args.Outcome.Exception as RpcException)?.StatusCode, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        var breaker = options.CircuitBreaker;
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = breaker.FailureRatio,
            MinimumThroughput = breaker.MinimumThroughput,
            SamplingDuration = breaker.SamplingDuration,
            BreakDuration = breaker.BreakDuration,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is RpcException { StatusCode: StatusCode.Unavailable }),
            OnOpened = args =>
            {
                LogCircuitOpened(logger, downstream, args.BreakDuration.TotalSeconds);
                return default;
            },
            OnClosed = _ =>
            {
                LogCircuitClosed(logger, downstream);
                return default;
            },
        });
    }

    private static bool ShouldRetry(RetryPredicateArguments<object> args, GrpcRetryOptions retry, TimeProvider clock)
    {
        if (args.Outcome.Exception is not RpcException failure
            || !args.Context.Properties.TryGetValue(Call, out var call)
            || !call.SafeToRetry
            || RetryDelay(failure, args.AttemptNumber, retry) is not { } delay)
        {
            return false;
        }

        if (call.Deadline is { } deadline && clock.GetUtcNow().UtcDateTime + delay >= deadline)
        {
            return false;
        }

        args.Context.Properties.Set(NextDelay, delay);
        return true;
    }

    /// <summary>How long to wait before retrying after <paramref name="failure"/>; null when it must not be retried.</summary>
    /// <param name="attempt">0 for the first attempt.</param>
    public static TimeSpan? RetryDelay(RpcException failure, int attempt, GrpcRetryOptions retry)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(retry);
        if (failure.StatusCode is not (StatusCode.Unavailable or StatusCode.ResourceExhausted))
        {
            return null;
        }

        if (failure.Trailers.GetValue(PushbackTrailer) is { } pushback)
        {
            // NumberStyles.None: "-1", "+5", " 5" are all refusals (gRFC A6: negative or unparseable = do not retry).
            return int.TryParse(pushback, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                ? TimeSpan.FromMilliseconds(ms)
                : null;
        }

        return failure.StatusCode == StatusCode.Unavailable ? Backoff(attempt, retry) : null;
    }

    // "Equal jitter": half of the exponential step is fixed, half random, so callers spread out but never retry at once.
    private static TimeSpan Backoff(int attempt, GrpcRetryOptions retry)
    {
        var ceiling = Math.Min(retry.MaxDelay.Ticks, retry.BaseDelay.Ticks * Math.Pow(2, Math.Min(attempt, 30)));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromTicks((long)((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2)));
#pragma warning restore CA5394
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrying {Downstream} {Method} after {StatusCode} (attempt {Attempt} failed); waiting {DelayMs:0} ms")]
    private static partial void LogRetry(ILogger logger, string downstream, string? method, StatusCode? statusCode, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit to {Downstream} opened after repeated UNAVAILABLE; calls fail fast for {BreakSeconds:0.#} s")]
    private static partial void LogCircuitOpened(ILogger logger, string downstream, double breakSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit to {Downstream} closed; calls flow again")]
    private static partial void LogCircuitClosed(ILogger logger, string downstream);

    /// <summary>What the retry decision needs to know about the call it is deciding for.</summary>
    internal readonly record struct CallFacts(string Method, bool SafeToRetry, DateTime? Deadline)
    {
        public static CallFacts Of<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class
            where TResponse : class =>
            new(context.Method.FullName,
                IsSafeToRetry(context.Method.FullName),
                context.Options.Deadline is { } deadline && deadline != DateTime.MaxValue ? deadline : null);
    }
}
