using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;

using Npgsql;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// A few open connections to the service's database whose statements stay prepared, for hot point reads. EF Core's
/// per-query work (open and close a pooled connection, diagnostics, materializer) cost ~10x a prepared SQLite read
/// (docs/benchmarks.md). Results are never cached: each read runs against the database and sees every committed write.
/// </summary>
public sealed class ReadConnections(DatabaseSettings database, IConfiguration configuration) : IDisposable
{
    public const string ActivitySourceName = Telemetry.SourcePrefix + ".Data";

    // SQLite: enough for the concurrency one core sustains; a burst above it opens more, closed after. PostgreSQL: none
    // held, so idle services keep no server connections; Npgsql's pool reopens in microseconds and keeps each physical
    // connection's prepared statements.
    private readonly int _maxIdle = database.Provider == DatabaseProvider.Sqlite ? 8 : 0;

    internal static readonly ActivitySource Source = new(ActivitySourceName);

    private readonly ConcurrentBag<ReadConnection> _idle = [];
    private readonly bool _traced = configuration.GetValue(Telemetry.TraceDatabaseCommandsKey, defaultValue: true);
    private readonly string _system = database.Provider == DatabaseProvider.Sqlite ? "sqlite" : "postgresql";
    private volatile bool _disposed;

    /// <summary>Runs <paramref name="read"/> on an open connection; a connection that failed is closed, never reused.</summary>
    public async Task<TResult> ReadAsync<TState, TResult>(
        string operation, TState state, Func<ReadConnection, TState, CancellationToken, Task<TResult>> read,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        using var activity = _traced ? Source.StartActivity(operation, ActivityKind.Client) : null;
        activity?.SetTag("db.system.name", _system);

        var connection = _idle.TryTake(out var idle) ? idle : await OpenAsync(cancellationToken);
        try
        {
            var result = await read(connection, state, cancellationToken);
            Return(connection);
            return result;
        }
        catch
        {
            // The database may have gone away: drop the idle ones too, so the next reads open fresh connections.
            connection.Dispose();
            while (_idle.TryTake(out var stale))
            {
                stale.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// An open connection for a read that streams its rows (a server-streaming call): it goes back to the pool only if
    /// <see cref="ReadLease.Completed"/> was called, so one abandoned mid-read is closed rather than reused.
    /// </summary>
    public async Task<ReadLease> RentAsync(string operation, CancellationToken cancellationToken)
    {
        var activity = _traced ? Source.StartActivity(operation, ActivityKind.Client) : null;
        activity?.SetTag("db.system.name", _system);
        try
        {
            var connection = _idle.TryTake(out var idle) ? idle : await OpenAsync(cancellationToken);
            return new ReadLease(this, connection, activity);
        }
        catch
        {
            activity?.Dispose();
            throw;
        }
    }

    /// <summary>Runs one statement without parameters, ignoring what it returns.</summary>
    public Task ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        ReadAsync(sql, sql, static async (connection, sql, cancellationToken) =>
        {
            await using var reader = await connection.ExecuteReaderAsync(connection.Command(sql), cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Whether a new connection (from the provider's own pool, not one held here) opens and answers: a held SQLite
    /// connection keeps reading a database file that was moved or deleted, so it would not notice the file is gone.
    /// </summary>
    public async Task<bool> CanConnectAsync(CancellationToken cancellationToken)
    {
        await using var connection = NewConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var connection))
        {
            connection.Dispose();
        }
    }

    private async Task<ReadConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = NewConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            return new ReadConnection(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private DbConnection NewConnection() => database.Provider == DatabaseProvider.Sqlite
        ? new SqliteConnection(database.ConnectionString)
        : new NpgsqlConnection(database.ConnectionString);

    internal void Release(ReadConnection connection, bool reusable)
    {
        if (reusable)
        {
            Return(connection);
        }
        else
        {
            connection.Dispose();
        }
    }

    private void Return(ReadConnection connection)
    {
        if (_disposed || _idle.Count >= _maxIdle)
        {
            connection.Dispose();
            return;
        }

        _idle.Add(connection);
    }
}

/// <summary>One open connection and the commands prepared on it, each created once and reused.</summary>
public sealed class ReadConnection(DbConnection connection) : IDisposable
{
    private readonly Dictionary<string, (DbCommand Command, bool Prepared)> _commands = new(StringComparer.Ordinal);

    /// <summary>
    /// The command for <paramref name="sql"/> with one parameter a name, in order, each as the SQL writes it ("@sku",
    /// see <see cref="RawCommands.ParameterName"/>); set their values, then read.
    /// </summary>
    public DbCommand Command(string sql, params ReadOnlySpan<string> parameters)
    {
        if (_commands.TryGetValue(sql, out var cached))
        {
            return cached.Command;
        }

        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = RawCommands.ParameterName(name);
            command.Parameters.Add(parameter);
        }

        _commands[sql] = (command, false);
        return command;
    }

    /// <summary>Executes <paramref name="command"/>, preparing it on first use (PostgreSQL needs the values' types for that).</summary>
    public async Task<DbDataReader> ExecuteReaderAsync(DbCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_commands.TryGetValue(command.CommandText, out var entry) && !entry.Prepared)
        {
            await command.PrepareAsync(cancellationToken);
            _commands[command.CommandText] = (command, true);
        }

        return await command.ExecuteReaderAsync(cancellationToken);
    }

    public void Dispose()
    {
        foreach (var (command, _) in _commands.Values)
        {
            command.Dispose();
        }

        connection.Dispose();
    }
}

/// <summary>A connection rented from <see cref="ReadConnections"/> for one streaming read.</summary>
public sealed class ReadLease(ReadConnections owner, ReadConnection connection, Activity? activity) : IDisposable
{
    private bool _completed;

    public ReadConnection Connection => connection;

    /// <summary>The read ran to its end: the connection can serve the next one.</summary>
    public void Completed() => _completed = true;

    public void Dispose()
    {
        owner.Release(connection, _completed);
        activity?.Dispose();
    }
}
