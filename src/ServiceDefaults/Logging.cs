using Contoso.Retail.ServiceDefaults.Interceptors;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Contoso.Retail.ServiceDefaults;

public static class Logging
{
    private const string ReadableTemplate =
        "[{Timestamp:HH:mm:ss} {Level:u3}] {Service} {CorrelationId}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Serilog from the "Serilog" section: readable console, compact JSON in a container or with Logging:Format=json;
    /// inside a call every line carries CorrelationId, TraceId and SpanId (<see cref="CallLogEnricher"/>).
    /// </summary>
    public static TBuilder AddDefaultLogging<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        var json = string.Equals(configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)
            || (configuration["Logging:Format"] is null && configuration.GetValue<bool>("DOTNET_RUNNING_IN_CONTAINER"));
        // In Development the per-call lines (Debug) are shown, unless configuration asks for Warning or quieter.
        var showCalls = builder.Environment.IsDevelopment()
            && !(Enum.TryParse<LogEventLevel>(configuration["Serilog:MinimumLevel:Default"] ?? configuration["Serilog:MinimumLevel"], true, out var level)
                && level > LogEventLevel.Information);

        // One line per gRPC call; a singleton so it is not built per call.
        builder.Services.AddSingleton<CallLoggingInterceptor>();

        // With an OTLP endpoint every event also goes to the OpenTelemetry logger provider (Telemetry.cs), so logs reach
        // the collector beside traces and metrics; the framework's console and debug providers go, so nothing is written twice.
        var toOtlp = Telemetry.ExportsOtlp(configuration);
        if (toOtlp)
        {
            builder.Logging.ClearProviders();
        }

        // A logger per host, not the static Log.Logger (preserveStaticLogger), so several services can share one
        // process (DevHost, tests) each with its own configuration; otherwise the last host built logs for all.
        builder.Services.AddSerilog(preserveStaticLogger: true, writeToProviders: toOtlp, configureLogger: (services, logger) =>
        {
            if (showCalls)
            {
                // Before ReadFrom.Configuration, so an override configured for this namespace still wins.
                logger.MinimumLevel.Override(typeof(CallLoggingInterceptor).Namespace!, LogEventLevel.Debug);
            }

            logger.ReadFrom.Configuration(configuration)
                .ReadFrom.Services(services)
                .Filter.ByExcluding(UnparseableRequests.IsFrameworkEcho)
                .Filter.ByExcluding(AbortedRequests.IsErrorEcho)
                .Filter.ByExcluding(ShutdownHealthCheck.IsErrorEcho)
                .Enrich.FromLogContext()
                .Enrich.With<CallLogEnricher>()
                .Enrich.WithProperty("Service", builder.Environment.ApplicationName);

            if (json)
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: ReadableTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            }
        });
        return builder;
    }
}
