using System.IO.Pipelines;

using Grpc.AspNetCore.Server;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// gRPC message frames that lie about their compression - a compressed flag other than 0 or 1, or a flagged body its
/// grpc-encoding cannot decompress - get the answer <see cref="UnparseableRequests"/> gives bytes that do not parse:
/// INVALID_ARGUMENT naming the method, an Information line, a count. grpc-dotnet's frame reader would otherwise throw
/// before any marshaller or interceptor, and the caller would see UNKNOWN (INTERNAL on a client stream).
/// </summary>
public static class UnparseableFrames
{
    /// <summary>Wraps every server compression provider so a body that does not decompress is refused, not thrown.</summary>
    internal static void Register(IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddOptions<GrpcServiceOptions>().PostConfigure<UnparseableRequests, IHttpContextAccessor>((options, unparseable, http) =>
        {
            var providers = options.CompressionProviders;
            for (var i = 0; i < providers.Count; i++)
            {
                if (providers[i] is not CheckedDecompression)
                {
                    providers[i] = new CheckedDecompression(providers[i], unparseable, http);
                }
            }
        });
    }

    /// <summary>
    /// Checks the header of every message frame of a gRPC request as grpc-dotnet reads it (a stream is never buffered).
    /// Goes after gRPC-Web, which turns its requests into application/grpc ones.
    /// </summary>
    public static WebApplication UseUnparseableFrames(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var unparseable = app.Services.GetRequiredService<UnparseableRequests>();
        app.Use(next => context =>
        {
            if (IsGrpc(context.Request.ContentType))
            {
                var reader = new FrameHeaderReader(context.Request.BodyReader, context.Request.Path.Value ?? "", unparseable);
                context.Features.Set<IRequestBodyPipeFeature>(new RequestBody(reader));
            }

            return next(context);
        });
        return app;
    }

    // gRPC-Web still labelled so is not served here (gRPC-Web off): grpc-dotnet refuses it on the content type alone.
    private static bool IsGrpc(string? contentType) =>
        contentType is not null
        && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && !contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase);

    private sealed class RequestBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
