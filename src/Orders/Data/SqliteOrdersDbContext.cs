using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.Orders.Data;

public sealed class SqliteOrdersDbContext(DbContextOptions<SqliteOrdersDbContext> options) : OrdersDbContext(options);

/// <summary>Lets `dotnet ef` build the SQLite model without starting the host.</summary>
public sealed class SqliteOrdersDbContextFactory : IDesignTimeDbContextFactory<SqliteOrdersDbContext>
{
    public SqliteOrdersDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteOrdersDbContext>().UseSqlite("Data Source=orders-design.db").Options);
}
