using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// EF Core work on a context leased for it alone. A gRPC service is activated for every call, so a context in its
/// constructor is leased from the pool and reset on every call, and held for a stream's whole life; a service whose
/// hot calls need none takes <see cref="IServiceScopeFactory"/> and leases one here, in the calls that use it.
/// </summary>
public static class ContextScopes
{
    /// <summary>Runs <paramref name="work"/> on a <typeparamref name="TContext"/> from a new scope, given back when it ends.</summary>
    public static async Task<T> WithContextAsync<TContext, T>(this IServiceScopeFactory scopes, Func<TContext, Task<T>> work)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(work);
        await using var scope = scopes.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<TContext>());
    }
}
