using Grpc.AspNetCore.HealthChecks;
using Grpc.Health.V1;

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Serilog.Events;
using Serilog.Filters;

using GrpcHealthService = Grpc.HealthCheck.HealthServiceImpl;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>How long shutdown may take and how long readiness is NOT_SERVING before Kestrel stops accepting.</summary>
/// <param name="Timeout">Shutdown:Timeout - the whole stop (drain included); in-flight calls still running then are aborted.</param>
/// <param name="DrainDelay">Shutdown:DrainDelay - time for load balancers and Kubernetes endpoints to notice NOT_SERVING.</param>
public sealed record ShutdownOptions(TimeSpan Timeout, TimeSpan DrainDelay);

/// <summary>Kestrel limits for gRPC over HTTP/2, and graceful shutdown.</summary>
public static class Lifetime
{
    /// <summary>Below Kubernetes' default 30 s terminationGracePeriodSeconds, so the host finishes before SIGKILL.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(25);

    /// <summary>Outside Development and tests: a few readiness probe periods for endpoints to drop the pod.</summary>
    public static readonly TimeSpan DefaultDrainDelay = TimeSpan.FromSeconds(5);

    public const string ShutdownCheckName = "shutdown";

    public static TBuilder AddDefaultLifetime<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        var local = builder.Environment.IsDevelopment() || builder.Environment.IsEnvironment("Test");
        var shutdown = new ShutdownOptions(
            configuration.GetValue("Shutdown:Timeout", DefaultShutdownTimeout),
            configuration.GetValue("Shutdown:DrainDelay", local ? TimeSpan.Zero : DefaultDrainDelay));

        var services = builder.Services;
        services.AddSingleton(shutdown);
        services.Configure<HostOptions>(host => host.ShutdownTimeout = shutdown.Timeout);
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulShutdown>());
        services.AddHealthChecks().AddCheck<ShutdownHealthCheck>(ShutdownCheckName, tags: [Health.ReadyTag]);

        services.Configure<KestrelServerOptions>(kestrel =>
        {
            ApplyDefaultLimits(kestrel.Limits, configuration);

            // The standard Kestrel:Limits section still wins over the defaults above.
            configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits);
        });
        return builder;
    }

    /// <summary>
    /// Defaults chosen for gRPC. Request body size and minimum body data rate are left to Grpc.AspNetCore: it lifts
    /// both per gRPC call (streams may idle; Grpc:MaxMessageSize caps each message instead).
    /// </summary>
    private static void ApplyDefaultLimits(KestrelServerLimits limits, IConfiguration configuration)
    {
        // Concurrent calls one client connection may have open; clients queue (or open another connection) beyond it.
        limits.Http2.MaxStreamsPerConnection = 100;

        // Metadata: MetadataLimits answers RESOURCE_EXHAUSTED over Grpc:MaxMetadataSize/Entries (32 KB, 100: a bearer
        // token plus trace and correlation headers fit with room to spare); Kestrel's hard limits sit above them.
        var metadataSize = MetadataLimits.HardLimitFactor * MetadataLimits.MaxSize(configuration);
        limits.MaxRequestHeadersTotalSize = metadataSize;
        limits.Http2.MaxRequestHeaderFieldSize = metadataSize;
        limits.MaxRequestHeaderCount = 20 * MetadataLimits.MaxEntries(configuration);

        // Larger flow-control windows than Kestrel's 128/96 KB keep multi-megabyte messages and streams moving.
        limits.Http2.InitialConnectionWindowSize = 1024 * 1024;
        limits.Http2.InitialStreamWindowSize = 768 * 1024;

        // Ping idle connections so half-open ones (a peer gone without FIN, a NAT dropping state) are closed
        // instead of holding streams like WatchStock forever.
        limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
        limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    }
}

/// <summary>
/// On stop, readiness goes NOT_SERVING and the stop waits Shutdown:DrainDelay while Kestrel still serves, so load
/// balancers stop sending calls before Kestrel refuses them; in-flight calls then get Shutdown:Timeout to finish.
/// </summary>
internal sealed partial class GracefulShutdown(
    ShutdownOptions options,
    IHostApplicationLifetime lifetime,
    GrpcHealthService grpcHealth,
    IOptions<GrpcHealthChecksOptions> grpcHealthOptions,
    ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    private int _draining;
    private int _drainDelayTaken;

    public bool Draining => Volatile.Read(ref _draining) == 1;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // SIGTERM raises ApplicationStopping before the host calls StoppingAsync; StopAsync does it the other way round.
        lifetime.ApplicationStopping.Register(BeginDraining);
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginDraining();

        // Once per process: stopping again (e.g. StopAsync then DisposeAsync) must not wait again.
        if (options.DrainDelay <= TimeSpan.Zero || Interlocked.Exchange(ref _drainDelayTaken, 1) == 1)
        {
            return;
        }

        LogDraining(logger, options.DrainDelay);
        try
        {
            await Task.Delay(options.DrainDelay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown:Timeout (or the caller) ran out during the drain: stop now.
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void BeginDraining()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1)
        {
            return;
        }

        // Don't wait for the next publisher run: tell watchers of every name that includes this check now.
        var shutdownCheck = new HealthCheckMapContext(Lifetime.ShutdownCheckName, [Health.ReadyTag]);
        foreach (var service in grpcHealthOptions.Value.Services)
        {
            if (service.HealthCheckPredicate?.Invoke(shutdownCheck) ?? true)
            {
                grpcHealth.SetStatus(service.Name, HealthCheckResponse.Types.ServingStatus.NotServing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Stopping: readiness is NOT_SERVING; serving for {DrainDelay} more so load balancers notice before new connections are refused")]
    private static partial void LogDraining(ILogger logger, TimeSpan drainDelay);
}

/// <summary>Unhealthy (so readiness is NOT_SERVING / 503) from the moment the host starts stopping.</summary>
internal sealed class ShutdownHealthCheck(GracefulShutdown shutdown) : IHealthCheck
{
    private static readonly Func<LogEvent, bool> FromHealthCheckService =
        Matching.FromSource("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService");

    private static readonly Func<LogEvent, bool> AboutShutdownCheck = Matching.WithProperty("HealthCheckName", Lifetime.ShutdownCheckName);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(shutdown.Draining ? HealthCheckResult.Unhealthy("The service is shutting down.") : HealthCheckResult.Healthy());

    /// <summary>
    /// The health check service logs every Unhealthy result at Error, so each probe or publisher run during a stop wrote
    /// "Health check shutdown with status Unhealthy" at Error, though stopping is no failure: that line is dropped.
    /// </summary>
    internal static bool IsErrorEcho(LogEvent logEvent) =>
        logEvent.Level == LogEventLevel.Error && AboutShutdownCheck(logEvent) && FromHealthCheckService(logEvent);
}
