using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// OpenTelemetry traces (gRPC, HttpClient, EF Core) and metrics (runtime, ASP.NET Core, "Contoso.Retail.*" meters),
/// exported over OTLP with the logs when OTEL_EXPORTER_OTLP_ENDPOINT is set and scraped as Prometheus text from /metrics.
/// </summary>
public static class Telemetry
{
    /// <summary>Meters and activity sources whose names start with this are collected.</summary>
    public const string SourcePrefix = "Contoso.Retail";

    public const string MetricsPath = "/metrics";

    /// <summary>Whether EF Core database commands become spans (default true; about 7% of a cached-token GetItem).</summary>
    public const string TraceDatabaseCommandsKey = "Tracing:DatabaseCommands";

    /// <summary>Calls that would only fill traces with noise: probes and scrapes.</summary>
    private static readonly PathString[] UntracedPaths = ["/health", MetricsPath, "/grpc.health.v1.Health"];

    public static TBuilder AddDefaultTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        var serviceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured
            ? configured
            : builder.Environment.ApplicationName;

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing
                    .AddSource($"{SourcePrefix}.*")
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => IsTraced(context.Request.Path))
                    .AddGrpcClientInstrumentation()
                    .AddHttpClientInstrumentation();
                if (configuration.GetValue(TraceDatabaseCommandsKey, defaultValue: true))
                {
                    tracing.AddEntityFrameworkCoreInstrumentation();
                }
            })
            .WithMetrics(metrics => metrics
                .AddMeter($"{SourcePrefix}.*")
                .AddRuntimeInstrumentation()
                // The request-duration histogram and Kestrel's connection metrics; not all of ASP.NET Core's meters
                // (routing counts every match, active_requests adds two updates a call): metrics were ~12% of a call.
                // kestrel.queued_requests also adds two updates a call (2.6% of an in-memory GetItem's CPU).
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                .AddView("http.server.active_requests", MetricStreamConfiguration.Drop)
                .AddView("kestrel.queued_requests", MetricStreamConfiguration.Drop)
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());

        if (ExportsOtlp(configuration))
        {
            // Traces, metrics and logs (Logging.cs forwards Serilog's events to the OpenTelemetry logger provider).
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>True when OTEL_EXPORTER_OTLP_ENDPOINT is set: traces, metrics and logs then go to that collector.</summary>
    public static bool ExportsOtlp(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>Maps the Prometheus scrape endpoint at /metrics, on the management port (like /health/*).</summary>
    public static WebApplication MapDefaultTelemetryEndpoints(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireManagementEndpoint();
        return app;
    }

    private static bool IsTraced(PathString path)
    {
        foreach (var prefix in UntracedPaths)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }
}
