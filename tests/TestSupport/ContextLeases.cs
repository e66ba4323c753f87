using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// Counts the scopes that resolve <typeparamref name="TContext"/> (each a lease of a pooled EF Core context), and
/// those of them not yet disposed. Pass <see cref="Count"/> as a service host's <c>Configure</c>.
/// </summary>
public sealed class ContextLeases<TContext>
    where TContext : DbContext
{
    private int _taken;
    private int _held;

    public int Taken => Volatile.Read(ref _taken);

    public int Held => Volatile.Read(ref _held);

    /// <summary>Wraps the service's registration of <typeparamref name="TContext"/> so that every resolution is counted.</summary>
    public void Count(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var context = builder.Services.Single(d => d.ServiceType == typeof(TContext));
        builder.Services.Remove(context);
        builder.Services.AddScoped(_ => new Lease(this));
        builder.Services.AddScoped(sp =>
        {
            sp.GetRequiredService<Lease>();
            return (TContext)context.ImplementationFactory!(sp);
        });
    }

    private sealed class Lease : IDisposable
    {
        private readonly ContextLeases<TContext> _leases;

        public Lease(ContextLeases<TContext> leases)
        {
            _leases = leases;
            Interlocked.Increment(ref leases._taken);
            Interlocked.Increment(ref leases._held);
        }

        public void Dispose() => Interlocked.Decrement(ref _leases._held);
    }
}
