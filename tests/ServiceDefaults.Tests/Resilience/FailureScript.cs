using System.Collections.Concurrent;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>What a test server saw of one call.</summary>
public sealed record ServerCall(string Method, TimeSpan ArrivedAt, DateTime Deadline);

/// <summary>
/// The programmable part of the test servers: each call takes the next scripted step (fail with a status and
/// trailers, or hold until cancelled), or succeeds when the script has run out; every call is recorded.
/// </summary>
public sealed class FailureScript
{
    private readonly ConcurrentQueue<Func<ServerCallContext, int, Task>> _steps = new();
    private readonly ConcurrentQueue<ServerCall> _calls = new();
    // Environment.TickCount64 is the clock .NET timers (and so the retry's Task.Delay) run on; the Stopwatch is finer,
    // so a 200 ms delay measured with it could read 198 ms. Arrivals on the delay's own clock make "no sooner" exact.
    private readonly long _startedMs = Environment.TickCount64;
    private Func<ServerCallContext, int, Task>? _always;

    /// <summary>Set when a held call has arrived.</summary>
    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<ServerCall> Calls => [.. _calls];

    /// <summary>The next <paramref name="times"/> calls fail with <paramref name="code"/>, with a pushback trailer if given.</summary>
    public FailureScript Fail(StatusCode code, int times = 1, string? pushback = null)
    {
        for (var i = 0; i < times; i++)
        {
            _steps.Enqueue((_, call) => throw Failure(code, call, pushback));
        }

        return this;
    }

    /// <summary>Once the scripted steps run out, every call fails with <paramref name="code"/>.</summary>
    public FailureScript ThenAlwaysFail(StatusCode code)
    {
        _always = (_, call) => throw Failure(code, call, pushback: null);
        return this;
    }

    /// <summary>The next call signals <see cref="Held"/> and answers only when the caller cancels it.</summary>
    public FailureScript HoldUntilCancelled()
    {
        _steps.Enqueue(async (context, _) =>
        {
            Held.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        });
        return this;
    }

    public async Task RunAsync(ServerCallContext context)
    {
        _calls.Enqueue(new ServerCall(context.Method, TimeSpan.FromMilliseconds(Environment.TickCount64 - _startedMs), context.Deadline));
        var step = _steps.TryDequeue(out var next) ? next : _always;
        if (step is not null)
        {
            await step(context, _calls.Count);
        }
    }

    private static RpcException Failure(StatusCode code, int call, string? pushback)
    {
        var trailers = new Metadata();
        if (pushback is not null)
        {
            trailers.Add("grpc-retry-pushback-ms", pushback);
        }

        return new RpcException(new Status(code, $"scripted {code} on call {call}"), trailers);
    }
}
