using Contoso.Retail.ServiceDefaults.Data;

using Npgsql;

using Xunit;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// A fresh, empty database for one test on either provider. SQLite is a temporary file;
/// PostgreSQL is a new database on the server from <see cref="PostgresServer"/>, dropped on dispose.
/// When no PostgreSQL server can be had, creating one skips the test with the reason.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _sqliteFile;
    private readonly string? _postgresAdminConnection;
    private readonly string? _postgresName;

    private TestDatabase(DatabaseProvider provider, string connectionString, string? sqliteFile, string? adminConnection, string? postgresName)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _sqliteFile = sqliteFile;
        _postgresAdminConnection = adminConnection;
        _postgresName = postgresName;
    }

    public static TheoryData<DatabaseProvider> Providers => [DatabaseProvider.Sqlite, DatabaseProvider.Postgres];

    public DatabaseProvider Provider { get; }

    public string ConnectionString { get; }

    /// <summary>The configuration a service needs to use this database as ConnectionStrings:{name}.</summary>
    public Dictionary<string, string?> Settings(string name) => new()
    {
        ["Database:Provider"] = Provider.ToString(),
        [$"ConnectionStrings:{name}"] = ConnectionString,
    };

    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            var file = Path.Combine(Path.GetTempPath(), $"contoso-retail-test-{Guid.NewGuid():N}.db");
            return new TestDatabase(provider, $"Data Source={file}", file, null, null);
        }

        var server = await PostgresServer.GetAsync();
        if (server.ConnectionString is null)
        {
            TestDependencies.Missing(server.Unavailable);
        }

        var name = $"test_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(server.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connection = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString;
        return new TestDatabase(provider, connection, null, server.ConnectionString, name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sqliteFile is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { _sqliteFile, _sqliteFile + "-wal", _sqliteFile + "-shm" })
            {
                File.Delete(file);
            }
        }

        if (_postgresAdminConnection is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(_postgresAdminConnection);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_postgresName}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
