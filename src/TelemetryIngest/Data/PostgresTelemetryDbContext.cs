using Contoso.Retail.TelemetryIngest.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.TelemetryIngest.Data;

/// <summary>The model on PostgreSQL, with its own migrations (Data/Migrations/Postgres); labels are jsonb.</summary>
public sealed class PostgresTelemetryDbContext(DbContextOptions<PostgresTelemetryDbContext> options) : TelemetryDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<TelemetryPoint>().Property(p => p.Labels).HasColumnType("jsonb");
    }
}

/// <summary>Lets `dotnet ef` build the PostgreSQL context without starting the host (it does not connect).</summary>
public sealed class PostgresTelemetryDbContextFactory : IDesignTimeDbContextFactory<PostgresTelemetryDbContext>
{
    public PostgresTelemetryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresTelemetryDbContext>().UseNpgsql("Host=localhost;Database=telemetry").Options);
}
