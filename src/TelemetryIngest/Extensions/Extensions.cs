using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TelemetryIngest.Data;
using Contoso.Retail.TelemetryIngest.Domain;
using Contoso.Retail.TelemetryIngest.Grpc;

using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Contoso.Retail.TelemetryIngest;

public static class TelemetryIngestExtensions
{
    /// <summary>The telemetry database (ConnectionStrings:Telemetry) and the ingest domain services.</summary>
    public static WebApplicationBuilder AddTelemetryIngest(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceDatabase<WebApplicationBuilder, TelemetryDbContext, SqliteTelemetryDbContext, PostgresTelemetryDbContext>("Telemetry");

        var services = builder.Services;
        services.AddOptions<TelemetryOptions>()
            .BindConfiguration(TelemetryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TelemetryMetrics>();
        services.AddSingleton<TelemetryStore>();
        services.AddSingleton<BatchWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<BatchWriter>());
        return builder;
    }

    /// <summary>Maps telemetry.v1.TelemetryIngestService and brings the database schema up to date.</summary>
    public static async Task MapTelemetryIngestAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<TelemetryIngestGrpcService>();
        await app.MigrateDatabaseAsync<TelemetryDbContext>();
    }
}
