using Grpc.AspNetCore.HealthChecks;
using Grpc.AspNetCore.Server;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// Liveness and readiness over grpc.health.v1 on the gRPC port (what Kubernetes' gRPC probes call) and over HTTP
/// (/health/live, /health/ready) on the management port; readiness is every check tagged <see cref="ReadyTag"/>.
/// </summary>
public static class Health
{
    /// <summary>Checks tagged "ready" gate readiness (e.g. the database); liveness only needs the process.</summary>
    public const string ReadyTag = "ready";

    public const string LiveTag = "live";

    /// <summary>The grpc.health.v1 service name that reports liveness; "" and each gRPC service name report readiness.</summary>
    public const string LivenessService = "liveness";

    public const string LivePath = "/health/live";

    public const string ReadyPath = "/health/ready";

    /// <summary>The Kestrel endpoint (Kestrel:Endpoints:Management) that serves the HTTP health endpoints.</summary>
    public const string ManagementEndpointName = "Management";

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: [LiveTag]);

        services.AddGrpcHealthChecks(options =>
        {
            options.Services.Map("", IsReadiness);
            options.Services.Map(LivenessService, check => check.Tags.Contains(LiveTag));
        });
        services.AddSingleton<MappedEndpoints>();
        services.AddSingleton<IConfigureOptions<GrpcHealthChecksOptions>, MapEachGrpcServiceToReadiness>();

        // Check recomputes on every call; Watch streams are fed by the publisher, so it must run often
        // enough for NOT_SERVING to reach watchers promptly (the framework default is every 30 s).
        services.Configure<HealthCheckPublisherOptions>(options =>
        {
            options.Delay = builder.Configuration.GetValue("Health:PublishDelay", TimeSpan.FromSeconds(1));
            options.Period = builder.Configuration.GetValue("Health:PublishPeriod", TimeSpan.FromSeconds(5));
        });

        // Learn which port Kestrel bound for the Management endpoint (the real one, even when configured as 0).
        services.AddSingleton<ManagementEndpoint>();
        services.AddOptions<KestrelServerOptions>()
            .Configure<ManagementEndpoint>((kestrel, management) =>
                kestrel.ConfigurationLoader?.Endpoint(ManagementEndpointName, endpoint => management.Listen = endpoint.ListenOptions));
        return builder;
    }

    public static WebApplication MapDefaultHealthEndpoints(this WebApplication app)
    {
        app.Services.GetRequiredService<MappedEndpoints>().Sources = ((IEndpointRouteBuilder)app).DataSources;
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) })
            .RequireManagementEndpoint();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) })
            .RequireManagementEndpoint();
        return app;
    }

    /// <summary>
    /// Serves the endpoint only on connections to the Management endpoint (404 on the gRPC port), matched by the
    /// local port the connection arrived on. Without a Management endpoint (in-memory tests, a single URL) it is
    /// served everywhere.
    /// </summary>
    public static TBuilder RequireManagementEndpoint<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            var inner = endpoint.RequestDelegate;
            if (inner is null)
            {
                return;
            }

            endpoint.RequestDelegate = context =>
            {
                if (context.RequestServices.GetRequiredService<ManagementEndpoint>().Accepts(context))
                {
                    return inner(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            };
        });
        return builder;
    }

    private static bool IsReadiness(HealthCheckMapContext check) => check.Tags.Contains(ReadyTag);

    /// <summary>The app's endpoint sources, so the health options can list the gRPC services mapped after MapDefaultEndpoints.</summary>
    private sealed class MappedEndpoints
    {
        public ICollection<EndpointDataSource> Sources { get; set; } = [];
    }

    /// <summary>
    /// Each gRPC service this host maps answers readiness under its own name, e.g. inventory.v1.InventoryService.
    /// The options are first read when the host starts (health publisher) or on the first health call, after every
    /// MapGrpcService.
    /// </summary>
    private sealed class MapEachGrpcServiceToReadiness(MappedEndpoints mapped) : IConfigureOptions<GrpcHealthChecksOptions>
    {
        public void Configure(GrpcHealthChecksOptions options)
        {
            var names = mapped.Sources
                .SelectMany(source => source.Endpoints)
                .Select(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.ServiceName)
                .OfType<string>()
                .Where(name => !name.StartsWith("grpc.", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal);
            foreach (var name in names)
            {
                options.Services.Map(name, IsReadiness);
            }
        }
    }
}

/// <summary>The Kestrel endpoint named "Management", once Kestrel has bound it.</summary>
public sealed class ManagementEndpoint
{
    internal ListenOptions? Listen { get; set; }

    /// <summary>The port the Management endpoint listens on, or null when there is none.</summary>
    public int? Port => Listen?.IPEndPoint?.Port;

    internal bool Accepts(HttpContext context) => Port is not { } port || context.Connection.LocalPort == port;
}
