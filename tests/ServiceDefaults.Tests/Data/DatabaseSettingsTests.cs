using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

using Npgsql;

namespace Contoso.Retail.ServiceDefaults.Tests.Data;

public sealed class DatabaseSettingsTests
{
    [Theory]
    [InlineData("Host=db;Username=u", 32)]
    [InlineData("Host=db;Username=u;Maximum Pool Size=7", 7)]
    [InlineData("Host=db;Username=u;MaxPoolSize=9", 9)]
    public void A_PostgreSQL_pool_is_capped_unless_the_connection_string_says_otherwise(string configured, int expected)
    {
        var applied = ConnectionStringAppliedFor(configured);
        Assert.Equal(expected, applied.MaxPoolSize);
        Assert.Equal("db", applied.Host);
    }

    [Theory]
    [InlineData("Host=db;Username=u", 32)]
    [InlineData("Host=db;Username=u;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;Username=u;MaxAutoPrepare=5", 5)]
    public void PostgreSQL_statements_are_prepared_automatically_unless_the_connection_string_says_otherwise(string configured, int expected)
    {
        Assert.Equal(expected, ConnectionStringAppliedFor(configured).MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Host=db;Username=u", true)]
    [InlineData("Host=db;Username=u;No Reset On Close=false", false)]
    [InlineData("Host=db;Username=u;NoResetOnClose=false", false)]
    public void Pooled_PostgreSQL_connections_are_not_reset_unless_the_connection_string_says_otherwise(string configured, bool expected)
    {
        Assert.Equal(expected, ConnectionStringAppliedFor(configured).NoResetOnClose);
    }

    /// <summary>The PostgreSQL connection string a service uses when configured with <paramref name="configured"/>.</summary>
    private static NpgsqlConnectionStringBuilder ConnectionStringAppliedFor(string configured)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["Database:Provider"] = "Postgres";
        builder.Configuration["ConnectionStrings:Test"] = configured;

        builder.AddServiceDatabase<WebApplicationBuilder, TestContext, SqliteTestContext, PostgresTestContext>("Test");

        using var services = builder.Services.BuildServiceProvider();
        return new NpgsqlConnectionStringBuilder(services.GetRequiredService<DatabaseSettings>().ConnectionString);
    }

    public abstract class TestContext(DbContextOptions options) : DbContext(options);

    public sealed class SqliteTestContext(DbContextOptions<SqliteTestContext> options) : TestContext(options);

    public sealed class PostgresTestContext(DbContextOptions<PostgresTestContext> options) : TestContext(options);
}
