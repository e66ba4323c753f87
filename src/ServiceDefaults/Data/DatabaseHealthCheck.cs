using Microsoft.Extensions.Diagnostics.HealthChecks;

using OpenTelemetry;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// Readiness: a new connection to the database opens and answers a trivial query (without EF Core, whose model is
/// built only after the first check that passes: <see cref="ModelWarmUp"/>).
/// </summary>
public sealed class DatabaseHealthCheck(ReadConnections reads, ModelWarmUp warmUp) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Probes every few seconds would otherwise each start a trace of their own.
        using var untraced = SuppressInstrumentationScope.Begin();
        try
        {
            if (!await reads.CanConnectAsync(cancellationToken))
            {
                return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, "The database gave no answer.");
            }

            warmUp.Schedule();
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, "The database did not answer.", ex);
        }
    }
}
