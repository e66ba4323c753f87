using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;
using Contoso.Retail.TestSupport;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.TelemetryIngest.Tests;

public sealed class MigrationTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Migrations_are_up_to_date_with_the_model_and_apply_cleanly(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using TelemetryDbContext context = provider == DatabaseProvider.Sqlite
            ? new SqliteTelemetryDbContext(new DbContextOptionsBuilder<SqliteTelemetryDbContext>().UseSqlite(db.ConnectionString).Options)
            : new PostgresTelemetryDbContext(new DbContextOptionsBuilder<PostgresTelemetryDbContext>().UseNpgsql(db.ConnectionString).Options);

        Assert.False(context.Database.HasPendingModelChanges(), "The model changed without a migration: run `dotnet ef migrations add` for both providers.");
        await context.Database.MigrateAsync(ct);
        Assert.Empty(await context.Database.GetPendingMigrationsAsync(ct));
        Assert.Equal(0, await context.Points.CountAsync(ct));
    }
}
