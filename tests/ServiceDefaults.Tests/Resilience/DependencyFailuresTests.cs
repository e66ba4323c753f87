using Contoso.Retail.ServiceDefaults.Errors;

using Microsoft.Data.Sqlite;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>What counts as "the database cannot be reached" (UNAVAILABLE to callers, no per-batch retry in ingest).</summary>
public class DependencyFailuresTests
{
    [Fact]
    public void Timeouts_and_transient_provider_errors_count_however_they_are_wrapped()
    {
        Assert.True(DependencyFailures.IsTransient(new TimeoutException()));
        Assert.True(DependencyFailures.IsTransient(new InvalidOperationException("An exception has been raised that is likely due to a transient failure.",
            new Npgsql.NpgsqlException("Failed to connect", new System.Net.Sockets.SocketException(111)))));
    }

    [Fact]
    public void SQLite_busy_and_locked_count_and_other_SQLite_errors_do_not()
    {
        Assert.True(DependencyFailures.IsTransient(new SqliteException("database is locked", 5)));
        Assert.True(DependencyFailures.IsTransient(new SqliteException("database table is locked", 6)));
        Assert.False(DependencyFailures.IsTransient(new SqliteException("NOT NULL constraint failed", 19)));
    }

    [Fact]
    public void A_PostgreSQL_transaction_lost_with_its_connection_counts_and_other_invalid_operations_do_not()
    {
        Assert.True(DependencyFailures.IsTransient(new InvalidOperationException("Transaction is already completed") { Source = "Npgsql" }));
        Assert.False(DependencyFailures.IsTransient(new InvalidOperationException("Transaction is already completed")));
        Assert.False(DependencyFailures.IsTransient(new InvalidOperationException("Connection is not open") { Source = "Npgsql" }));
    }
}
