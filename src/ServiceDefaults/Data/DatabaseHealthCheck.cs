using Microsoft.Extensions.Diagnostics.HealthChecks;

using OpenTelemetry;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>Readiness: a new connection to the database opens and answers a trivial query (without EF Core, which may still be warming up).</summary>
public sealed class DatabaseHealthCheck(ReadConnections reads) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Probes every few seconds would otherwise each start a trace of their own.
        using var untraced = SuppressInstrumentationScope.Begin();
        try
        {
            return await reads.CanConnectAsync(cancellationToken)
                ? HealthCheckResult.Healthy()
                : new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, "The database gave no answer.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, "The database did not answer.", ex);
        }
    }
}
