using System.Net;

using Contoso.Retail.Contracts;
using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.ServiceDefaults;

using Grpc.Net.Client;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TestSupport;

public enum Transport
{
    /// <summary>ASP.NET Core TestServer: the whole pipeline, no sockets.</summary>
    InMemory,

    /// <summary>Real Kestrel on free loopback ports: HTTP/2 cleartext for gRPC, HTTP/1.1 for REST/JSON and gRPC-Web.</summary>
    Kestrel,
}

/// <summary>A service started for a test, with a channel to it.</summary>
public sealed class RunningService : IAsyncDisposable
{
    private readonly Func<GrpcChannelOptions> _channelOptions;
    private readonly Func<HttpClient> _httpClient;

    private RunningService(WebApplication app, Uri address, Uri webAddress, Func<GrpcChannelOptions> channelOptions, Func<HttpClient> httpClient)
    {
        App = app;
        Address = address;
        WebAddress = webAddress;
        _channelOptions = channelOptions;
        _httpClient = httpClient;
        Token = app.Services.GetService<AuthOptions>() is { DevSigningKey: not null } ? MintToken([.. ContractMethods.AllScopes(), Scopes.OrdersAdmin]) : null;
        Channel = CreateChannel(Token);
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>The HTTP/1.1 endpoint (REST/JSON, gRPC-Web); the same as <see cref="Address"/> in memory.</summary>
    public Uri WebAddress { get; }

    /// <summary>A channel whose calls carry <see cref="Token"/>: every scope any contract method requires, and orders.admin (any customer's orders).</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A token with every scope (and <see cref="Scopes.OrdersAdmin"/>), signed with the service's development key; null when the service has none.</summary>
    public string? Token { get; }

    public IServiceProvider Services => App.Services;

    /// <param name="settings">Configuration layered over everything else (connection strings, options).</param>
    /// <param name="configure">Adds the service to the builder, e.g. <c>b => b.AddServiceDefaults().AddInventory()</c>.</param>
    /// <param name="start">Maps endpoints and migrates, e.g. <c>app => app.MapInventoryAsync()</c>.</param>
    public static async Task<RunningService> StartAsync(
        Transport transport,
        IDictionary<string, string?> settings,
        Action<WebApplicationBuilder> configure,
        Func<WebApplication, Task> start)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Test",
            ContentRootPath = AppContext.BaseDirectory,
        });
        // Auth is always on: tests get the well-known development key unless they configure auth themselves.
        if (!settings.Keys.Any(key => key.StartsWith("Auth:DevSigningKey", StringComparison.OrdinalIgnoreCase)
            || key.StartsWith("Auth:Authority", StringComparison.OrdinalIgnoreCase)))
        {
            builder.Configuration["Auth:DevSigningKey"] = DevTokens.DevelopmentKey;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration["Logging:LogLevel:Default"] ??= "Warning";
        if (transport == Transport.InMemory)
        {
            builder.WebHost.UseTestServer();
        }
        else
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
                kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
            });
        }

        configure(builder);
        var app = builder.Build();
        await start(app);
        await app.StartAsync();

        if (transport == Transport.InMemory)
        {
            var server = app.GetTestServer();
            return new RunningService(app, server.BaseAddress, server.BaseAddress,
                () => new GrpcChannelOptions { HttpHandler = server.CreateHandler() }, server.CreateClient);
        }

        // Kestrel binds in the order the endpoints were listed: the HTTP/2 one first.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        return new RunningService(app, addresses[0], addresses[1], () => new GrpcChannelOptions(), () => new HttpClient { BaseAddress = addresses[1] });
    }

    /// <summary>A new HTTP client for the REST/JSON routes (the caller disposes it), with <paramref name="token"/> as its bearer when given.</summary>
    public HttpClient CreateHttpClient(string? token)
    {
        var client = _httpClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>A new channel to the service (the caller disposes it) carrying <paramref name="token"/>, or no credentials at all when null.</summary>
    public GrpcChannel CreateChannel(string? token) => token is null
        ? GrpcChannel.ForAddress(Address, _channelOptions())
        : BearerChannel.ForAddress(Address, token, _channelOptions());

    /// <summary>A token this service accepts (its development key, issuer and audience) with just these scopes.</summary>
    public string MintToken(IEnumerable<string> scopes, TimeSpan? lifetime = null, string subject = "test-client")
    {
        var auth = App.Services.GetRequiredService<AuthOptions>();
        return DevTokens.Mint(
            auth.DevSigningKey ?? throw new InvalidOperationException("The service is not configured with a development key."),
            auth.EffectiveIssuer!, auth.Audience, subject, scopes, lifetime ?? TimeSpan.FromHours(12));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
