using Npgsql;

using Testcontainers.PostgreSql;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// Finds a PostgreSQL server for the tests, once per test process, in this order:
/// a Testcontainers container when a Docker engine answers; else the server named by the
/// environment variable ConnectionStrings__TestPostgres (what .ci/run sets); else none, with the reason.
/// </summary>
public sealed class PostgresServer
{
    public const string EnvironmentVariable = "ConnectionStrings__TestPostgres";

    private static readonly Lazy<Task<PostgresServer>> Instance = new(FindAsync);
    private static PostgreSqlContainer? _container;

    private PostgresServer(string? connectionString, string unavailable)
    {
        ConnectionString = connectionString;
        Unavailable = unavailable;
    }

    /// <summary>An admin connection string (may create databases), or null when no server could be had.</summary>
    public string? ConnectionString { get; }

    /// <summary>Why there is no server, for the skip message.</summary>
    public string Unavailable { get; }

    public static Task<PostgresServer> GetAsync() => Instance.Value;

    // Testcontainers takes ~15 s to give up when there is no engine; don't make every run pay that.
    private static bool DockerMayAnswer() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST"))
        || File.Exists("/var/run/docker.sock")
        || File.Exists(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker", "run", "docker.sock"))
        || OperatingSystem.IsWindows();

    private static async Task<PostgresServer> FindAsync()
    {
        string dockerProblem;
        try
        {
            if (!DockerMayAnswer())
            {
                throw new InvalidOperationException("no Docker socket and DOCKER_HOST is not set");
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            _container = new PostgreSqlBuilder("postgres:15-alpine").Build();
            await _container.StartAsync(timeout.Token);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => _container.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return new PostgresServer(_container.GetConnectionString(), "");
        }
        catch (Exception ex)
        {
            dockerProblem = ex.GetBaseException().Message;
        }

        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            await using var connection = new NpgsqlConnection(configured);
            await connection.OpenAsync();
            return new PostgresServer(configured, "");
        }

        return new PostgresServer(null,
            $"PostgreSQL unavailable: no Docker engine for Testcontainers ({dockerProblem}) and {EnvironmentVariable} is not set.");
    }
}
