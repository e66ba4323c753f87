using System.Data.Common;

using Microsoft.Data.Sqlite;

namespace Contoso.Retail.ServiceDefaults.Errors;

public static class DependencyFailures
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>
    /// A database that cannot be reached, however it is wrapped: EF Core's execution strategy rethrows a transient
    /// provider error as InvalidOperationException ("likely due to a transient failure") with the DbException inside.
    /// SQLite's "database is locked" (another writer held the lock past the busy timeout) counts too, though
    /// Microsoft.Data.Sqlite does not mark it transient, and so does a PostgreSQL transaction lost with its connection.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is DbException { IsTransient: true } or TimeoutException
                or SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked }
                || IsTransactionLostWithItsConnection(current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Npgsql ends a transaction whose connection broke between two of its commands; the next command then fails with
    /// this InvalidOperationException rather than a transient NpgsqlException (seen with PostgreSQL cut off mid-load).
    /// </summary>
    private static bool IsTransactionLostWithItsConnection(Exception exception) =>
        exception is InvalidOperationException { Source: "Npgsql", Message: "Transaction is already completed" };
}
