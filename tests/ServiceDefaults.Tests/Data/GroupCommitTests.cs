using System.Data.Common;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Contoso.Retail.ServiceDefaults.Tests.Data;

public sealed class GroupCommitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_SQLite_units_queued_while_a_commit_runs_share_the_next_transaction_and_a_failing_unit_is_rolled_back_alone()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var services = Services(database);
        var writes = services.GetRequiredService<GroupCommit<LedgerContext>>();

        // The first unit holds the writer until the others are queued behind it.
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = writes.RunAsync(async db =>
        {
            holding.SetResult();
            await release.Task;
            return await AddAsync(db, "first");
        }, Ct);
        await holding.Task.WaitAsync(Ct);

        var queued = Enumerable.Range(1, 8).Select(i => writes.RunAsync(db => AddAsync(db, $"entry-{i}"), Ct)).ToList();
        var failing = writes.RunAsync<Guid>(async db =>
        {
            await AddAsync(db, "rolled-back");
            throw new InvalidOperationException("refused");
        }, Ct);
        var duplicate = writes.RunAsync(db => AddAsync(db, "entry-1"), Ct);
        release.SetResult();

        await first;
        var transactions = await Task.WhenAll(queued);
        Assert.Single(transactions.Distinct());
        Assert.Equal("refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        await Assert.ThrowsAsync<DbUpdateException>(() => duplicate);

        await using var scope = services.CreateAsyncScope();
        var names = await scope.ServiceProvider.GetRequiredService<LedgerContext>().Entries.Select(e => e.Name).OrderBy(n => n).ToListAsync(Ct);
        Assert.Equal(["entry-1", "entry-2", "entry-3", "entry-4", "entry-5", "entry-6", "entry-7", "entry-8", "first"], names);
    }

    [Fact]
    public async Task On_PostgreSQL_each_unit_commits_in_a_transaction_of_its_own_and_a_failing_one_is_rolled_back_alone()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Postgres);
        await using var services = Services(database);
        var writes = services.GetRequiredService<GroupCommit<LedgerContext>>();

        var transactions = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => writes.RunAsync(db => AddAsync(db, $"entry-{i}"), Ct)));
        var failing = writes.RunAsync<Guid>(async db =>
        {
            await AddAsync(db, "rolled-back");
            throw new InvalidOperationException("refused");
        }, Ct);
        await Assert.ThrowsAsync<DbUpdateException>(() => writes.RunAsync(db => AddAsync(db, "entry-1"), Ct));

        Assert.Equal(8, transactions.Distinct().Count());
        Assert.Equal("refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        await using var scope = services.CreateAsyncScope();
        Assert.Equal(8, await scope.ServiceProvider.GetRequiredService<LedgerContext>().Entries.CountAsync(Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task A_caller_hears_back_after_its_unit_committed(DatabaseProvider provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var services = Services(database);
        var writes = services.GetRequiredService<GroupCommit<LedgerContext>>();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => writes.RunAsync(db => AddAsync(db, $"e{i}"), Ct)));

        // A context of its own, outside the writer: committed rows are visible to anyone.
        await using var scope = services.CreateAsyncScope();
        Assert.Equal(20, await scope.ServiceProvider.GetRequiredService<LedgerContext>().Entries.CountAsync(Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task A_one_command_unit_commits_its_statements_together_or_not_at_all(DatabaseProvider provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var services = Services(database);
        var writes = services.GetRequiredService<GroupCommit<LedgerContext>>();

        var transaction = await writes.RunCommandAsync(async db =>
        {
            await db.Sql("""INSERT INTO "Entries" ("Name") VALUES ('a'); INSERT INTO "Entries" ("Name") VALUES ('b')""").RunAsync();
            return db.Database.CurrentTransaction?.TransactionId;
        }, Ct);
        // The second statement fails (a duplicate key): the first, run before it in the same command, is not kept.
        await Assert.ThrowsAnyAsync<DbException>(() => writes.RunCommandAsync(
            db => db.Sql("""INSERT INTO "Entries" ("Name") VALUES ('c'); INSERT INTO "Entries" ("Name") VALUES ('a')""").RunAsync(), Ct));

        // PostgreSQL runs the command with no BEGIN / COMMIT of ours; SQLite runs it in a group like any unit.
        Assert.Equal(provider == DatabaseProvider.Sqlite, transaction is not null);
        await using var scope = services.CreateAsyncScope();
        Assert.Equal(["a", "b"], await scope.ServiceProvider.GetRequiredService<LedgerContext>().Entries.Select(e => e.Name).OrderBy(n => n).ToListAsync(Ct));
    }

    private static async Task<Guid> AddAsync(LedgerContext db, string name)
    {
        db.Entries.Add(new LedgerEntry { Name = name });
        await db.SaveChangesAsync();
        return db.Database.CurrentTransaction!.TransactionId;
    }

    private static ServiceProvider Services(TestDatabase database)
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddDbContextPool<LedgerContext>(options =>
        {
            if (database.Provider == DatabaseProvider.Sqlite)
            {
                options.UseSqlite(database.ConnectionString);
            }
            else
            {
                options.UseNpgsql(database.ConnectionString);
            }
        });
        services.AddSingleton(new DatabaseSettings(database.Provider, database.ConnectionString));
        services.AddSingleton<GroupCommit<LedgerContext>>();
        var provider = services.BuildServiceProvider();
        using var scope = provider.CreateScope();
        scope.ServiceProvider.GetRequiredService<LedgerContext>().Database.EnsureCreated();
        return provider;
    }

    public sealed class LedgerEntry
    {
        public required string Name { get; init; }
    }

    public sealed class LedgerContext(DbContextOptions<LedgerContext> options) : DbContext(options)
    {
        public DbSet<LedgerEntry> Entries => Set<LedgerEntry>();

        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<LedgerEntry>().HasKey(e => e.Name);
    }
}
