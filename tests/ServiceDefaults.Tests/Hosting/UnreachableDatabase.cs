using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.Data.Sqlite;

using Npgsql;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>
/// A test database that can be made unreachable and brought back. PostgreSQL: the database stops accepting
/// connections and its sessions are terminated (what a failover or a restart looks like to the service).
/// SQLite: the database's folder moves away, so the file cannot be opened.
/// </summary>
internal sealed class UnreachableDatabase : IAsyncDisposable
{
    private readonly TestDatabase? _postgres;
    private readonly string? _sqliteFolder;

    private UnreachableDatabase(Dictionary<string, string?> settings, TestDatabase? postgres, string? sqliteFolder)
    {
        Settings = settings;
        _postgres = postgres;
        _sqliteFolder = sqliteFolder;
    }

    public Dictionary<string, string?> Settings { get; }

    private string MovedSqliteFolder => _sqliteFolder + "-away";

    public static async Task<UnreachableDatabase> CreateAsync(DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Postgres)
        {
            var db = await TestDatabase.CreateAsync(provider);
            return new UnreachableDatabase(db.Settings("Notes"), db, null);
        }

        var folder = Path.Combine(Path.GetTempPath(), $"contoso-retail-health-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = nameof(DatabaseProvider.Sqlite),
            ["ConnectionStrings:Notes"] = $"Data Source={Path.Combine(folder, "notes.db")}",
        };
        return new UnreachableDatabase(settings, null, folder);
    }

    public async Task MakeUnreachableAsync()
    {
        if (_postgres is not null)
        {
            await AdminAsync(
                $"ALTER DATABASE \"{PostgresName}\" ALLOW_CONNECTIONS false",
                $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{PostgresName}' AND pid <> pg_backend_pid()");
            NpgsqlConnection.ClearAllPools();
            return;
        }

        SqliteConnection.ClearAllPools();
        Directory.Move(_sqliteFolder!, MovedSqliteFolder);
    }

    public async Task RestoreAsync()
    {
        if (_postgres is not null)
        {
            await AdminAsync($"ALTER DATABASE \"{PostgresName}\" ALLOW_CONNECTIONS true");
            return;
        }

        Directory.Move(MovedSqliteFolder, _sqliteFolder!);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
            return;
        }

        SqliteConnection.ClearAllPools();
        foreach (var folder in new[] { _sqliteFolder!, MovedSqliteFolder }.Where(Directory.Exists))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private string PostgresName => new NpgsqlConnectionStringBuilder(_postgres!.ConnectionString).Database!;

    private static async Task AdminAsync(params string[] statements)
    {
        var server = await PostgresServer.GetAsync();
        await using var admin = new NpgsqlConnection(server.ConnectionString);
        await admin.OpenAsync(TestContext.Current.CancellationToken);
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, admin);
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
    }
}
