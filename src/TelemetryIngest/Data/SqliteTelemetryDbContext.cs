using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.TelemetryIngest.Data;

/// <summary>The model on SQLite, with its own migrations (Data/Migrations/Sqlite).</summary>
public sealed class SqliteTelemetryDbContext(DbContextOptions<SqliteTelemetryDbContext> options) : TelemetryDbContext(options);

/// <summary>Lets `dotnet ef` build the SQLite context without starting the host.</summary>
public sealed class SqliteTelemetryDbContextFactory : IDesignTimeDbContextFactory<SqliteTelemetryDbContext>
{
    public SqliteTelemetryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteTelemetryDbContext>().UseSqlite("Data Source=design-time.db").Options);
}
