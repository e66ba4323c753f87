using Grpc.Core;

using Microsoft.AspNetCore.Http;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

/// <summary>
/// Reads one request header of a server call. <see cref="ServerCallContext.RequestHeaders"/> makes grpc-dotnet copy
/// every request header into a new <see cref="Metadata"/> on first use; on ASP.NET Core the header is read from
/// the request itself instead, with the same answer (the last value, as <see cref="Metadata.GetValue"/> gives it).
/// </summary>
internal static class ServerCallHeaders
{
    public static string? Get(ServerCallContext context, string name)
    {
        if (HttpContextOf(context) is { } http)
        {
            var values = http.Request.Headers[name];
            return values.Count == 0 ? null : values[values.Count - 1];
        }

        return context.RequestHeaders.GetValue(name);
    }

    public static HttpContext? HttpContextOf(ServerCallContext context)
    {
        try
        {
            // A type check for calls grpc-dotnet serves; other contexts (tests, other transports) may not have one.
            return context.GetHttpContext();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
