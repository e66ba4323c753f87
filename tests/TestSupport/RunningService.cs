using System.Net;

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

    /// <summary>Real Kestrel on a free loopback port, HTTP/2 cleartext.</summary>
    Kestrel,
}

/// <summary>A service started for a test, with a channel to it.</summary>
public sealed class RunningService : IAsyncDisposable
{
    private RunningService(WebApplication app, Uri address, GrpcChannel channel)
    {
        App = app;
        Address = address;
        Channel = channel;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public IServiceProvider Services => App.Services;

    /// <param name="settings">Configuration layered over everything else (connection strings, options).</param>
    /// <param name="configure">Adds the service to the builder, e.g. <c>b => b.AddServiceDefaults().AddInventory()</c>.</param>
    /// <param name="start">Maps endpoints and migrates, e.g. <c>app => app.UseInventoryAsync()</c>.</param>
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
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration["Logging:LogLevel:Default"] ??= "Warning";
        if (transport == Transport.InMemory)
        {
            builder.WebHost.UseTestServer();
        }
        else
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        }

        configure(builder);
        var app = builder.Build();
        await start(app);
        await app.StartAsync();

        if (transport == Transport.InMemory)
        {
            var server = app.GetTestServer();
            var channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.CreateHandler() });
            return new RunningService(app, server.BaseAddress, channel);
        }

        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new RunningService(app, address, GrpcChannel.ForAddress(address));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
