using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Which database a service talks to, as resolved from configuration at startup, and its provider's context type.</summary>
public sealed record DatabaseSettings(DatabaseProvider Provider, string ConnectionString, Type? ContextType = null);

public static class Database
{
    /// <summary>
    /// Registers <typeparamref name="TContext"/> on Database:Provider (Sqlite, the default, or Postgres) with ConnectionStrings:{name};
    /// a context subclass per provider keeps each provider's migrations. SQLite defaults to data/{name}.db.
    /// </summary>
    public static TBuilder AddServiceDatabase<TBuilder, TContext, TSqliteContext, TPostgresContext>(
        this TBuilder builder, string name)
        where TBuilder : IHostApplicationBuilder
        where TContext : DbContext
        where TSqliteContext : TContext
        where TPostgresContext : TContext
    {
        var provider = builder.Configuration.GetValue("Database:Provider", DatabaseProvider.Sqlite);
        var connectionString = builder.Configuration.GetConnectionString(name);
        var services = builder.Services;

        if (provider == DatabaseProvider.Sqlite)
        {
            connectionString = SqliteConnectionString(connectionString, name, builder.Environment.ContentRootPath);
            services.AddDbContextPool<TSqliteContext>(options => options.UseSqlite(connectionString));
            services.AddScoped<TContext>(sp => sp.GetRequiredService<TSqliteContext>());
        }
        else
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    $"ConnectionStrings:{name} must be set when Database:Provider is Postgres.");
            }

            connectionString = PostgresConnectionString(connectionString);
            services.AddDbContextPool<TPostgresContext>(options => options.UseNpgsql(connectionString));
            services.AddScoped<TContext>(sp => sp.GetRequiredService<TPostgresContext>());
        }

        var contextType = provider == DatabaseProvider.Sqlite ? typeof(TSqliteContext) : typeof(TPostgresContext);
        services.AddSingleton(new DatabaseSettings(provider, connectionString, contextType));
        services.AddSingleton<ReadConnections>();
        services.AddSingleton<GroupCommit<TContext>>();
        services.AddSingleton<ModelWarmUp>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: [Health.ReadyTag]);
        return builder;
    }

    /// <summary>Applies pending migrations at startup unless Database:MigrateOnStartup is false.</summary>
    public static async Task MigrateDatabaseAsync<TContext>(this WebApplication app, CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        if (!app.Configuration.GetValue("Database:MigrateOnStartup", true))
        {
            return;
        }

        // EF Core's first context (its services and the model) costs ~0.4 s on one core: a restart with nothing to
        // migrate reads the history table directly and answers at once; ModelWarmUp builds the model shortly after
        // the service was first found ready.
        var settings = app.Services.GetRequiredService<DatabaseSettings>();
        var reads = app.Services.GetRequiredService<ReadConnections>();
        if (await Migrations.PendingAsync(settings, reads, cancellationToken))
        {
            await using var scope = app.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<TContext>().Database.MigrateAsync(cancellationToken);
            app.Services.GetRequiredService<ModelWarmUp>().Built();
        }

        if (settings.Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers (queries, streams) proceed while a writer commits.
            await reads.ExecuteAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }

    /// <summary>Connections a service opens to PostgreSQL at most, unless its connection string says otherwise.</summary>
    public const int DefaultMaxPoolSize = 32;

    /// <summary>Statements each PostgreSQL connection keeps prepared, unless its connection string says otherwise.</summary>
    public const int DefaultMaxAutoPrepare = 32;

    // Npgsql's default pool (100) equals PostgreSQL's default max_connections: a few busy services sharing a server then
    // got "53300: too many clients" (UNAVAILABLE) where waiting a moment for a pooled connection would have served.
    // Automatic preparation (off in Npgsql by default) lets the server parse and plan each hot statement once per
    // connection instead of on every call; a pooler in transaction mode older than PgBouncer 1.21 needs it off (0).
    // A connection handed back to the pool is reset by default: with statements prepared, the next command carries the
    // seven statements of DISCARD ALL but DEALLOCATE - 21 of the 29 statements PostgreSQL ran per order (PlaceOrder, its
    // statement log). The services set no session state (no SET, temporary table, LISTEN or advisory lock), so they skip
    // the reset; "No Reset On Close=false" brings it back for code that does.
    private static string PostgresConnectionString(string configured)
    {
        var builder = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = configured };
        if (!builder.ContainsKey("Maximum Pool Size") && !builder.ContainsKey("MaxPoolSize"))
        {
            builder["Maximum Pool Size"] = DefaultMaxPoolSize;
        }

        if (!builder.ContainsKey("Max Auto Prepare") && !builder.ContainsKey("MaxAutoPrepare"))
        {
            builder["Max Auto Prepare"] = DefaultMaxAutoPrepare;
        }

        if (!builder.ContainsKey("No Reset On Close") && !builder.ContainsKey("NoResetOnClose"))
        {
            builder["No Reset On Close"] = true;
        }

        return builder.ConnectionString;
    }

    private static string SqliteConnectionString(string? configured, string name, string contentRoot)
    {
        var builder = new SqliteConnectionStringBuilder(
            string.IsNullOrWhiteSpace(configured) ? $"Data Source={Path.Combine("data", name + ".db")}" : configured);

        var isFile = !string.IsNullOrEmpty(builder.DataSource)
            && builder.DataSource != ":memory:"
            && builder.Mode is not SqliteOpenMode.Memory;
        if (isFile)
        {
            builder.DataSource = Path.GetFullPath(builder.DataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }

        return builder.ToString();
    }
}
