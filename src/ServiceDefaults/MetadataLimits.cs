using System.Globalization;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// Request metadata over Grpc:MaxMetadataSize bytes or Grpc:MaxMetadataEntries entries gets RESOURCE_EXHAUSTED, as gRPC
/// core answers, instead of Kestrel's HTTP 431 (which clients report as INTERNAL "Bad gRPC response"). Kestrel's own
/// limits sit above these (twice the bytes, which it advertises as SETTINGS_MAX_HEADER_LIST_SIZE, and 20 times the
/// entries); past them a client gets 431 or loses its connection, and other connections are never affected.
/// </summary>
public static class MetadataLimits
{
    public const int DefaultMaxSize = 32 * 1024;

    public const int DefaultMaxEntries = 100;

    /// <summary>Kestrel's header size limits are this many times ours, so every request within them reaches this check.</summary>
    public const int HardLimitFactor = 2;

    public static int MaxSize(IConfiguration configuration) => configuration.GetValue("Grpc:MaxMetadataSize", DefaultMaxSize);

    public static int MaxEntries(IConfiguration configuration) => configuration.GetValue("Grpc:MaxMetadataEntries", DefaultMaxEntries);

    /// <summary>Answers gRPC requests whose metadata is over the limits before they reach routing, auth or a handler.</summary>
    public static WebApplication UseMetadataLimits(this WebApplication app)
    {
        var maxSize = MaxSize(app.Configuration);
        var maxEntries = MaxEntries(app.Configuration);
        app.Use(next => context =>
        {
            var headers = context.Request.Headers;
            if (headers.Count <= maxEntries && Size(headers) <= maxSize)
            {
                return next(context);
            }

            // gRPC-Web carries its status in the body; let grpc-web's own handling (and Kestrel) answer those.
            var contentType = context.Request.ContentType ?? "";
            if (!contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
                || contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase))
            {
                return next(context);
            }

            // Trailers-only response: HTTP 200 and the status in the headers, as a gRPC server sends an early error.
            var message = string.Create(
                CultureInfo.InvariantCulture,
                $"Request metadata is {Size(headers)} bytes in {headers.Count} entries; the limit is {maxSize} bytes and {maxEntries} entries.");
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "8"; // RESOURCE_EXHAUSTED
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return Task.CompletedTask;
        });
        return app;
    }

    /// <summary>Names and values, as Kestrel counts them against MaxRequestHeadersTotalSize.</summary>
    private static long Size(IHeaderDictionary headers)
    {
        long size = 0;
        foreach (var (name, values) in headers)
        {
            size += name.Length;
            foreach (var value in values)
            {
                size += value?.Length ?? 0;
            }
        }

        return size;
    }
}
