using Contoso.Retail.ServiceDefaults.Interceptors;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults;

public static class Grpc
{
    /// <summary>Default message size cap for both directions; override with Grpc:MaxMessageSize (bytes).</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>gRPC server with the shared interceptors and limits.</summary>
    public static TBuilder AddDefaultGrpc<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var maxMessageSize = builder.Configuration.GetValue("Grpc:MaxMessageSize", DefaultMaxMessageSize);
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<ExceptionInterceptor>();
            options.MaxReceiveMessageSize = maxMessageSize;
            options.MaxSendMessageSize = maxMessageSize;
            options.EnableDetailedErrors = builder.Environment.IsDevelopment();
        });
        return builder;
    }
}
