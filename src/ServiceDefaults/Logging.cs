using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using Serilog;
using Serilog.Formatting.Compact;

namespace Contoso.Retail.ServiceDefaults;

public static class Logging
{
    private const string ReadableTemplate =
        "[{Timestamp:HH:mm:ss} {Level:u3}] {Service}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Serilog for the host: levels and extra sinks from the "Serilog" configuration section,
    /// readable console output by default, compact JSON when Logging:Format is "json"
    /// or the process runs in a container.
    /// </summary>
    public static TBuilder AddDefaultLogging<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        var json = string.Equals(configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)
            || (configuration["Logging:Format"] is null && configuration.GetValue<bool>("DOTNET_RUNNING_IN_CONTAINER"));

        // A logger per host (not the static Log.Logger) so several services can share one process (DevHost, tests).
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(configuration)
                .Enrich.FromLogContext()
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
