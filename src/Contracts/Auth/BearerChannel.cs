using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Contracts.Auth;

/// <summary>Channels whose every call carries `authorization: Bearer &lt;token&gt;`, for clients of the services.</summary>
public static class BearerChannel
{
    /// <param name="token">The token for a call (its context names the service and method), e.g. one minted for the method's scope.</param>
    /// <param name="options">Further channel options (an in-memory HttpHandler, ...); its Credentials are replaced.</param>
    public static GrpcChannel ForAddress(Uri address, Func<AuthInterceptorContext, string> token, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(token);
        options ??= new GrpcChannelOptions();
        var bearer = CallCredentials.FromInterceptor((context, metadata) =>
        {
            metadata.Add("authorization", $"Bearer {token(context)}");
            return Task.CompletedTask;
        });
        var transport = address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        options.Credentials = ChannelCredentials.Create(transport, bearer);
        // The services speak cleartext HTTP/2 on loopback and inside a cluster; TLS where configured.
        options.UnsafeUseInsecureChannelCallCredentials = true;
        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>Every call carries the same token.</summary>
    public static GrpcChannel ForAddress(Uri address, string token, GrpcChannelOptions? options = null) =>
        ForAddress(address, _ => token, options);
}
