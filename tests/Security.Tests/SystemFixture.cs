namespace Contoso.Retail.Security.Tests;

/// <summary>One running system (SQLite) per test class, seeded with the items the samples use.</summary>
public sealed class SystemFixture : IAsyncLifetime
{
    private SecuritySystem? _system;

    public SecuritySystem System => _system ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        _system = await SecuritySystem.StartAsync();
        await _system.SeedAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }
    }
}
