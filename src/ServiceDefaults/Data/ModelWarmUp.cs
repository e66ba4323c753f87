using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// Builds EF Core's model (~0.3 s of CPU) in the background <see cref="AfterReady"/> after the service was first found
/// ready, rather than as Kestrel starts: on one core the build slowed the first readiness answer, which is also the
/// first call through the whole pipeline, by ~140 ms (docs/benchmarks.md, round 9). The first passing
/// <see cref="DatabaseHealthCheck"/> schedules it: a probe's, or else the health publisher's about a second after start.
/// A call that needs the model sooner builds it itself, as EF Core always does.
/// </summary>
public sealed class ModelWarmUp(IServiceScopeFactory scopes, DatabaseSettings database, IHostApplicationLifetime lifetime)
{
    /// <summary>Long enough for the first answer to go out on one busy core; short of any usual probe period.</summary>
    public static readonly TimeSpan AfterReady = TimeSpan.FromSeconds(1);

    private int _scheduled;

    /// <summary>Whether the model has been asked for (the warm-up scheduled, or a migration built it).</summary>
    public bool Scheduled => Volatile.Read(ref _scheduled) == 1;

    /// <summary>Schedules the build on the thread pool, the first time only.</summary>
    public void Schedule()
    {
        if (Interlocked.Exchange(ref _scheduled, 1) == 0 && database.ContextType is { } contextType)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(AfterReady, lifetime.ApplicationStopping);
                    await using var scope = scopes.CreateAsyncScope();
                    _ = ((DbContext)scope.ServiceProvider.GetRequiredService(contextType)).Model;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Only a head start (and none once the host is stopping): the first call that needs the model
                    // builds it if this did not.
                }
            });
        }
    }

    /// <summary>The model is built already (a migration ran): nothing left to schedule.</summary>
    internal void Built() => Volatile.Write(ref _scheduled, 1);
}
