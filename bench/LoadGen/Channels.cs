using Contoso.Retail.Contracts.Auth;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.LoadGen;

/// <summary>A fixed number of HTTP/2 connections (one GrpcChannel each) and the call options every call carries.</summary>
public sealed class Channels : IDisposable
{
    /// <summary>Scopes of a token that may call every benchmarked method (orders.admin: orders for any customer id).</summary>
    public static readonly string[] AllScopes =
        ["inventory.read", "inventory.write", "inventory.reserve", "orders.read", "orders.write", "orders.admin", "telemetry.read", "telemetry.write"];

    private readonly GrpcChannel[] _channels;

    private Channels(GrpcChannel[] channels, CallOptions callOptions)
    {
        _channels = channels;
        CallOptions = callOptions;
    }

    public CallOptions CallOptions { get; }

    public GrpcChannel For(int worker) => _channels[worker % _channels.Length];

    /// <summary>
    /// --token T, or --dev-token to mint one the way `contoso-retail token` does (development key unless --dev-key);
    /// null (no authorization header) for bare and peer servers.
    /// </summary>
    public static string? TokenFrom(Arguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var token = args.Get("token");
        var devKey = args.Get("dev-key", DevTokens.DevelopmentKey);
        return args.Flag("dev-token")
            ? DevTokens.Mint(devKey, DevTokens.DefaultIssuer, DevTokens.DefaultAudience, "loadgen", AllScopes, TimeSpan.FromHours(2))
            : token;
    }

    public static async Task<Channels> OpenAsync(string target, int connections, string? token, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", "Bearer " + token);
        }

        var channels = new GrpcChannel[connections];
        for (var i = 0; i < connections; i++)
        {
            channels[i] = GrpcChannel.ForAddress(target, new GrpcChannelOptions
            {
                // One HTTP/2 connection per channel: calls beyond the server's stream limit wait for a free stream.
                HttpHandler = new SocketsHttpHandler
                {
                    EnableMultipleHttp2Connections = false,
                    PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                },
                MaxReceiveMessageSize = 16 * 1024 * 1024,
            });
            await channels[i].ConnectAsync(cancellationToken);
        }

        return new Channels(channels, new CallOptions(headers: headers));
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
