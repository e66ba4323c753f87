using Grpc.Core;

using Microsoft.AspNetCore.Http;

namespace Contoso.Retail.Micro;

/// <summary>
/// A server call context as grpc-dotnet makes one: an HttpContext (where GetHttpContext() looks) holding the request
/// headers, and <see cref="ServerCallContext.RequestHeaders"/> built from them on first use, as grpc-dotnet builds
/// its Metadata copy once per call. <see cref="NewCall"/> forgets that copy, so each benchmarked call pays for it
/// as a real call would, if it reads RequestHeaders at all.
/// </summary>
public sealed class FakeCallContext : ServerCallContext
{
    private readonly DefaultHttpContext _http = new();
    private Metadata? _requestHeaders;

    public FakeCallContext(string method, Metadata requestHeaders)
    {
        ArgumentNullException.ThrowIfNull(requestHeaders);
        MethodCore = method;
        // What a .NET gRPC client sends besides the caller's metadata.
        var headers = _http.Request.Headers;
        headers.Host = "127.0.0.1:5101";
        headers.ContentType = "application/grpc";
        headers.TE = "trailers";
        headers.UserAgent = "grpc-dotnet/2.71.0 (.NET 10.0.0; CLR 10.0.0; net10.0; linux; x64)";
        headers["grpc-accept-encoding"] = "identity,gzip,deflate";
        foreach (var entry in requestHeaders)
        {
            headers.Append(entry.Key, entry.Value);
        }

        UserState["__HttpContext"] = _http;
    }

    protected override string MethodCore { get; }

    protected override string HostCore => "127.0.0.1:5101";

    protected override string PeerCore => "ipv4:127.0.0.1:40000";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders ??= CopyRequestHeaders();

    protected override CancellationToken CancellationTokenCore => CancellationToken.None;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    /// <summary>Starts the next call: the Metadata copy of the headers is built again when someone asks for it.</summary>
    public FakeCallContext NewCall()
    {
        _requestHeaders = null;
        _http.Response.Headers.Clear();
        return this;
    }

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;

    // As grpc-dotnet does: every header but pseudo-headers, one entry per value.
    private Metadata CopyRequestHeaders()
    {
        var metadata = new Metadata();
        foreach (var header in _http.Request.Headers)
        {
            if (header.Key.StartsWith(':'))
            {
                continue;
            }

            foreach (var value in header.Value)
            {
                metadata.Add(header.Key.ToLowerInvariant(), value ?? "");
            }
        }

        return metadata;
    }
}
