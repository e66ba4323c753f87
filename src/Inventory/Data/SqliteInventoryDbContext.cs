using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.Inventory.Data;

/// <summary>The Inventory model on SQLite; migrations in Data/Migrations/Sqlite.</summary>
public sealed class SqliteInventoryDbContext(DbContextOptions<SqliteInventoryDbContext> options)
    : InventoryDbContext(options);

/// <summary>Lets <c>dotnet ef</c> build the context without starting the host.</summary>
public sealed class SqliteInventoryDbContextFactory : IDesignTimeDbContextFactory<SqliteInventoryDbContext>
{
    public SqliteInventoryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteInventoryDbContext>().UseSqlite("Data Source=data/Inventory.db").Options);
}
