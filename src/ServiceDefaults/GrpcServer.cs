using Contoso.Retail.ServiceDefaults.Interceptors;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults;

public static class GrpcServer
{
    /// <summary>Default message size cap for both directions; override with Grpc:MaxMessageSize (bytes).</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>gRPC server with the shared interceptors and limits.</summary>
    public static TBuilder AddDefaultGrpc<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var maxMessageSize = builder.Configuration.GetValue("Grpc:MaxMessageSize", DefaultMaxMessageSize);

        // Stateless, so one instance serves every call; an interceptor type not registered in DI is built per call.
        builder.Services.TryAddSingleton<ExceptionInterceptor>();
        var grpc = builder.Services.AddGrpc(options =>
        {
            // Outermost first: log/trace every call, then authenticate, then turn exceptions into statuses.
            options.Interceptors.Add<CallLoggingInterceptor>();
            options.Interceptors.Add<AuthInterceptor>();
            options.Interceptors.Add<ExceptionInterceptor>();
            options.MaxReceiveMessageSize = maxMessageSize;
            options.MaxSendMessageSize = maxMessageSize;
            options.EnableDetailedErrors = builder.Environment.IsDevelopment();
        });
        Rest.AddDefaultRest(builder, grpc);
        UnparseableRequests.Register(builder.Services);
        UnparseableFrames.Register(builder.Services);

        if (builder.Environment.IsDevelopment())
        {
            builder.Services.AddGrpcReflection();
        }

        return builder;
    }

    /// <summary>Server reflection in Development only, so grpcurl and similar tools work without the protos.</summary>
    public static WebApplication MapDefaultGrpcEndpoints(this WebApplication app)
    {
        UnparseableRequests.EnsureSoleProvider(app.Services);
        if (app.Environment.IsDevelopment())
        {
            app.MapGrpcReflectionService();
        }

        return app;
    }
}
