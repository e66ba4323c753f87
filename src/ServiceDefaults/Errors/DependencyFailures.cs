using System.Data.Common;

using Microsoft.Data.Sqlite;

namespace Contoso.Retail.ServiceDefaults.Errors;

public static class DependencyFailures
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>
    /// A database that cannot be reached, however wrapped (EF Core's execution strategy wraps the DbException); SQLite's
    /// "database is locked" and a PostgreSQL transaction lost with its connection count too.
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
