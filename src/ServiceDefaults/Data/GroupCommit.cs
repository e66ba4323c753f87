using System.Diagnostics;
using System.Threading.Channels;

using Contoso.Retail.ServiceDefaults.Errors;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using OpenTelemetry;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// Short write units that share durable commits: on SQLite, units queued during a commit run together in the next (one
/// fsync, one writer, no busy lock); on PostgreSQL each runs at once, as its WAL flushes are shared already, in its own
/// transaction (<see cref="RunAsync{T}"/>) or, for a unit that is one command, in the command's implicit one
/// (<see cref="RunCommandAsync{T}"/>). A unit that throws rolls back alone; its caller hears back only after the commit
/// holding its unit.
/// </summary>
public sealed partial class GroupCommit<TContext> : IAsyncDisposable
    where TContext : DbContext
{
    /// <summary>
    /// Most units in one SQLite group, each under a savepoint. Sized when PostgreSQL grouped too (it keeps the first 64
    /// subtransactions of a transaction in shared memory); it no longer does. On SQLite, 256 measured the same as 48
    /// with 256 orders in flight (bench/findings.md, round 10).
    /// </summary>
    public const int MaxUnitsPerCommit = 48;

    private const string Savepoint = "unit";

    private readonly Channel<IUnit> _queue = Channel.CreateUnbounded<IUnit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger _logger;
    private readonly Task _writer;

    private readonly bool _traced;
    private string? _system;

    private readonly bool _grouped;

    public GroupCommit(
        IServiceScopeFactory scopes, ILogger<GroupCommit<TContext>> logger, IConfiguration configuration, DatabaseSettings? database = null)
    {
        _scopes = scopes;
        _logger = logger;
        _traced = configuration.GetValue(Telemetry.TraceDatabaseCommandsKey, defaultValue: true);
        _grouped = database?.Provider != DatabaseProvider.Postgres;
        _writer = _grouped ? Task.Run(WriteLoopAsync) : Task.CompletedTask;
    }

    /// <summary>
    /// Runs <paramref name="unit"/> in the next group and returns once that group has committed. The unit gets the
    /// group's context (its change tracker cleared after each unit) and no cancellation: once queued it runs, so
    /// cancelling only stops the wait. A unit may run twice if its group fails, so it must find out whether its work
    /// is already stored (an insert that does nothing on a conflict, a conditional update) rather than assume it is not.
    /// </summary>
    public Task<T> RunAsync<T>(Func<TContext, Task<T>> unit, CancellationToken cancellationToken) =>
        Enqueue(new Unit<T>(unit, Activity.Current, oneCommand: false), cancellationToken);

    /// <summary>
    /// <see cref="RunAsync{T}"/> for a unit that sends one command (one or more statements, atomic together without an
    /// explicit transaction): on PostgreSQL it runs with no BEGIN and COMMIT round trips, as the server commits the
    /// command's statements together; on SQLite it joins the next group like any other unit.
    /// </summary>
    public Task<T> RunCommandAsync<T>(Func<TContext, Task<T>> command, CancellationToken cancellationToken) =>
        Enqueue(new Unit<T>(command, Activity.Current, oneCommand: true), cancellationToken);

    private Task<T> Enqueue<T>(Unit<T> pending, CancellationToken cancellationToken)
    {
        if (!_grouped)
        {
            return RunAloneAsync(pending).WaitAsync(cancellationToken);
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            throw RpcErrors.Unavailable("The server is shutting down; retry on another instance.");
        }

        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        // Queued units still commit; later ones are refused.
        _queue.Writer.TryComplete();
        await _writer;
    }

    private async Task<T> RunAloneAsync<T>(Unit<T> unit)
    {
        await CommitAsync([unit]);
        return await unit.Completion.Task;
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<IUnit>(MaxUnitsPerCommit);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (group.Count < MaxUnitsPerCommit && _queue.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            await CommitAsync(group);
            group.Clear();
        }
    }

    private async Task CommitAsync(List<IUnit> group)
    {
        try
        {
            await RunGroupAsync(group);
            foreach (var unit in group)
            {
                unit.Complete();
            }
        }
        catch (Exception ex) when (group.Count > 1 && !DependencyFailures.IsTransient(ex))
        {
            // A commit the database refused as a whole: find out which unit it was by running each alone.
            LogGroupFailed(_logger, ex, group.Count);
            foreach (var unit in group)
            {
                await CommitAsync([unit]);
            }
        }
        catch (Exception ex)
        {
            // Unreachable database: no point trying each unit alone. A commit that did happen is seen by a retry.
            foreach (var unit in group)
            {
                unit.Fail(ex);
            }
        }
    }

    private async Task RunGroupAsync(List<IUnit> group)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        db.Database.AutoSavepointsEnabled = false;
        var alone = group.Count == 1;
        if (alone && !_grouped && group[0].OneCommand)
        {
            await RunWithoutTransactionAsync(db, group[0]);
            return;
        }

        IDbContextTransaction transaction;
        using (SuppressInstrumentationScope.Begin())
        {
            transaction = await db.Database.BeginTransactionAsync();
        }

        await using (transaction)
        {
            foreach (var unit in group)
            {
                using var span = StartUnitSpan(db, unit, group.Count);
                try
                {
                    if (!alone)
                    {
                        await transaction.CreateSavepointAsync(Savepoint);
                    }

                    await unit.RunAsync(db);
                    if (!alone)
                    {
                        await transaction.ReleaseSavepointAsync(Savepoint);
                    }
                }
                catch (Exception ex) when (!DependencyFailures.IsTransient(ex))
                {
                    unit.Failed(ex);
                    if (alone)
                    {
                        return;
                    }

                    await transaction.RollbackToSavepointAsync(Savepoint);
                }
                finally
                {
                    Activity.Current = null;
                    db.ChangeTracker.Clear();
                }
            }

            using (SuppressInstrumentationScope.Begin())
            {
                await transaction.CommitAsync();
            }
        }
    }

    /// <summary>A one-command unit on PostgreSQL: its own implicit transaction, no BEGIN or COMMIT.</summary>
    private async Task RunWithoutTransactionAsync(TContext db, IUnit unit)
    {
        using var span = StartUnitSpan(db, unit, units: 1);
        try
        {
            using (SuppressInstrumentationScope.Begin())
            {
                await db.Database.OpenConnectionAsync();
            }

            await unit.RunAsync(db);
        }
        catch (Exception ex) when (!DependencyFailures.IsTransient(ex))
        {
            unit.Failed(ex);
        }
        finally
        {
            Activity.Current = null;
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Makes the unit's caller the current activity (its commands belong to the caller's trace) and starts the unit's
    /// span in it; the caller resets <see cref="Activity.Current"/> when the unit ends.
    /// </summary>
    private Activity? StartUnitSpan(TContext db, IUnit unit, int units)
    {
        Activity.Current = unit.Caller;
        var span = _traced ? ReadConnections.Source.StartActivity($"{typeof(TContext).Name} write", ActivityKind.Client) : null;
        span?.SetTag("db.system.name", _system ??= db.Database.IsSqlite() ? "sqlite" : "postgresql");
        span?.SetTag("db.group_commit.units", units);
        return span;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Units} units failed; committing each alone")]
    private static partial void LogGroupFailed(ILogger logger, Exception exception, int units);

    private interface IUnit
    {
        Activity? Caller { get; }

        /// <summary>The unit sends one command, atomic without an explicit transaction.</summary>
        bool OneCommand { get; }

        Task RunAsync(TContext db);

        /// <summary>The unit threw and was rolled back; its caller gets <paramref name="exception"/> once the group ends.</summary>
        void Failed(Exception exception);

        /// <summary>The group committed: the caller gets the unit's result (or the exception it threw).</summary>
        void Complete();

        /// <summary>The group did not commit.</summary>
        void Fail(Exception exception);
    }

    private sealed class Unit<T>(Func<TContext, Task<T>> work, Activity? caller, bool oneCommand) : IUnit
    {
        private T? _result;
        private Exception? _failure;

        // Continuations run off the writer, so a slow caller cannot hold up the next group.
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Activity? Caller { get; } = caller;

        public bool OneCommand { get; } = oneCommand;

        public async Task RunAsync(TContext db)
        {
            _failure = null;
            _result = await work(db);
        }

        public void Failed(Exception exception) => _failure = exception;

        public void Complete()
        {
            if (_failure is null)
            {
                Completion.TrySetResult(_result!);
            }
            else
            {
                Completion.TrySetException(_failure);
            }
        }

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
