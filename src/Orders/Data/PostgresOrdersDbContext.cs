using Contoso.Retail.Orders.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Contoso.Retail.Orders.Data;

public sealed class PostgresOrdersDbContext(DbContextOptions<PostgresOrdersDbContext> options) : OrdersDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);

        // Order ids sort bytewise (newest first in ListOrders), whatever the database's locale.
        modelBuilder.Entity<Order>().Property(o => o.Id).UseCollation("C");
        modelBuilder.Entity<OrderLine>().Property(l => l.OrderId).UseCollation("C");
    }
}

/// <summary>Lets `dotnet ef` build the PostgreSQL model without starting the host (no server needed to add migrations).</summary>
public sealed class PostgresOrdersDbContextFactory : IDesignTimeDbContextFactory<PostgresOrdersDbContext>
{
    public PostgresOrdersDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresOrdersDbContext>().UseNpgsql("Host=localhost;Database=orders").Options);
}
