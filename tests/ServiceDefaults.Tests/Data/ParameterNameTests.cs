using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Microsoft.Extensions.Configuration;

namespace Contoso.Retail.ServiceDefaults.Tests.Data;

/// <summary>
/// Plain-SQL parameters are named as the SQL writes them. Microsoft.Data.Sqlite looks a name without its prefix up under
/// each prefix in turn on every execution, building and encoding a string for each try.
/// </summary>
public class ParameterNameTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_parameter_named_without_its_prefix_is_refused()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        using var reads = Reads(db);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            reads.ReadAsync("test", 0, static async (connection, _, ct) =>
            {
                using var reader = await connection.ExecuteReaderAsync(connection.Command("SELECT @n", "n"), ct);
                return 0;
            }, Ct));

        Assert.Contains("\"@n\"", refused.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => RawCommands.ParameterName("sku"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Prefixed_names_bind_on_both_providers(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var reads = Reads(db);

        for (var i = 0; i < 3; i++)
        {
            var (text, number) = await reads.ReadAsync("test", i, static async (connection, i, ct) =>
            {
                var command = connection.Command("SELECT @text || '-' || @text, @number + 1", "@text", "@number");
                command.Parameters[0].Value = $"v{i}";
                command.Parameters[1].Value = i;
                using var reader = await connection.ExecuteReaderAsync(command, ct);
                Assert.True(await reader.ReadAsync(ct));
                return (reader.GetString(0), reader.GetInt64(1));
            }, Ct);

            Assert.Equal(($"v{i}-v{i}", (long)i + 1), (text, number));
        }
    }

    private static ReadConnections Reads(TestDatabase db) => new(
        new DatabaseSettings(db.Provider, db.ConnectionString, ContextType: null),
        new ConfigurationBuilder().Build());
}
