using Grpc.AspNetCore.Web;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>GrpcWeb:Enabled and GrpcWeb:AllowedOrigins (origins such as "https://shop.example.com", or "*").</summary>
public sealed record GrpcWebSettings(bool Enabled, IReadOnlyList<string> AllowedOrigins);

/// <summary>
/// Opt-in gRPC-Web (GrpcWeb:Enabled) for browser pages, on an HTTP/1.1 or TLS endpoint since browsers cannot speak
/// cleartext HTTP/2. CORS admits only GrpcWeb:AllowedOrigins; the token rides in the authorization header, never cookies.
/// </summary>
public static class GrpcWeb
{
    /// <summary>The Kestrel endpoint name conventionally used for gRPC-Web (Kestrel:Endpoints:Web).</summary>
    public const string WebEndpointName = "Web";

    private const string CorsPolicy = "GrpcWeb";

    /// <summary>What a gRPC-Web client sends: Connect-ES and grpc-web set these, the page adds authorization.</summary>
    private static readonly string[] RequestHeaders =
        ["authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "x-correlation-id"];

    /// <summary>Status and rich error details arrive in headers when a call fails before any message.</summary>
    private static readonly string[] ResponseHeaders =
        ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-correlation-id"];

    public static TBuilder AddDefaultGrpcWeb<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var section = builder.Configuration.GetSection("GrpcWeb");
        var settings = new GrpcWebSettings(
            section.GetValue("Enabled", false),
            section.GetSection("AllowedOrigins").Get<string[]>() ?? []);
        builder.Services.AddSingleton(settings);
        if (!settings.Enabled || settings.AllowedOrigins.Count == 0)
        {
            return builder;
        }

        builder.Services.AddCors(options => options.AddPolicy(CorsPolicy, policy =>
        {
            if (settings.AllowedOrigins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins([.. settings.AllowedOrigins]);
            }

            policy.WithMethods("POST").WithHeaders(RequestHeaders).WithExposedHeaders(ResponseHeaders);
        }));
        return builder;
    }

    /// <summary>gRPC-Web for every mapped gRPC service, with CORS for the allowed origins; nothing when disabled.</summary>
    public static WebApplication UseDefaultGrpcWeb(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<GrpcWebSettings>();
        if (!settings.Enabled)
        {
            return app;
        }

        if (settings.AllowedOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        return app;
    }
}
