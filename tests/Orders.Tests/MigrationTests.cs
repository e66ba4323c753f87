using Contoso.Retail.Orders.Data;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Orders.Tests;

public class MigrationTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Migrations_are_up_to_date_with_the_model_and_apply_to_an_empty_database(DatabaseProvider provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using OrdersDbContext db = provider == DatabaseProvider.Sqlite
            ? new SqliteOrdersDbContext(new DbContextOptionsBuilder<SqliteOrdersDbContext>().UseSqlite(database.ConnectionString).Options)
            : new PostgresOrdersDbContext(new DbContextOptionsBuilder<PostgresOrdersDbContext>().UseNpgsql(database.ConnectionString).Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The model has changes no migration covers: add a migration for this provider.");

        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await db.Orders.CountAsync(TestContext.Current.CancellationToken));
    }
}
