using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Npgsql;

namespace Contoso.Retail.Inventory.Tests;

public class SmokeTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Database_is_reachable(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        Assert.NotEmpty(db.ConnectionString);
    }
}
