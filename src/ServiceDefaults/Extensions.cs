using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// The one line each service adds to opt into the shared cross-cutting setup.
/// Each concern lives in its own file; this class only lists them.
/// </summary>
public static class Extensions
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.AddDefaultLogging();
        builder.AddDefaultTelemetry();
        builder.AddDefaultAuth();
        builder.AddDefaultGrpc();
        builder.AddDefaultGrpcWeb();
        builder.AddDefaultHealthChecks();
        builder.AddDefaultLifetime();
        return builder;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseMetadataLimits();
        app.UseDefaultGrpcWeb();
        app.UseUnparseableFrames();
        app.MapDefaultHealthEndpoints();
        app.MapDefaultGrpcEndpoints();
        app.MapDefaultRestEndpoints();
        app.MapDefaultTelemetryEndpoints();
        return app;
    }
}
