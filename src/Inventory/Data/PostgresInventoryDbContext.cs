using Contoso.Retail.Inventory.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.Inventory.Data;

/// <summary>The Inventory model on PostgreSQL; migrations in Data/Migrations/Postgres.</summary>
public sealed class PostgresInventoryDbContext(DbContextOptions<PostgresInventoryDbContext> options)
    : InventoryDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);

        // Byte-order collation, as SQLite compares: SKU order and page tokens do not depend on the server's locale.
        modelBuilder.Entity<Item>().Property(i => i.Sku).UseCollation("C");
    }
}

/// <summary>Lets <c>dotnet ef</c> build the context without starting the host (no server is contacted).</summary>
public sealed class PostgresInventoryDbContextFactory : IDesignTimeDbContextFactory<PostgresInventoryDbContext>
{
    public PostgresInventoryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresInventoryDbContext>().UseNpgsql("Host=localhost;Database=inventory").Options);
}
