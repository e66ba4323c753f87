using System.Net.Mime;

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.FileProviders;

namespace Contoso.Retail.DevHost;

/// <summary>The services' gRPC-Web addresses, as the page reads them from /config.json.</summary>
public sealed record WebPageConfig(string Inventory, string Orders)
{
    public string? Telemetry { get; init; }
}

/// <summary>A development token for the page, and the customer it acts for (the token's subject).</summary>
public sealed record WebPageToken(string Token, string Customer);

/// <summary>
/// Serves the built browser client over HTTP/1.1 with /config.json (the gRPC-Web endpoints) and, in Development only,
/// POST /dev/token; elsewhere a page must get its token from a real identity provider.
/// </summary>
public sealed class WebPage : IAsyncDisposable
{
    /// <summary>What a shopper's page needs: see stock, place and read its own orders.</summary>
    public static readonly string[] TokenScopes = ["inventory.read", "orders.read", "orders.write"];

    public const string Customer = "web-shopper";

    public const string TokenPath = "/dev/token";

    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    private readonly WebApplication _app;

    private WebPage(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the page is served (the real port when started on port 0).</summary>
    public Uri Address { get; }

    /// <summary>The origin browsers send from this page ("http://127.0.0.1:5100"), for the services' CORS.</summary>
    public string Origin => Address.GetLeftPart(UriPartial.Authority);

    /// <summary>The built page (index.html and its bundle) in clients/web/dist above <paramref name="start"/>, or null.</summary>
    public static string? FindBuiltPage(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var dist = Path.Combine(dir.FullName, "clients", "web", "dist");
            if (File.Exists(Path.Combine(dist, "index.html")))
            {
                return dist;
            }
        }

        return null;
    }

    /// <param name="url">Where to listen, e.g. http://127.0.0.1:5100 (port 0 picks a free one).</param>
    /// <param name="root">The built page folder.</param>
    /// <param name="environmentName">The token endpoint exists only when this is Development.</param>
    /// <param name="config">The services' gRPC-Web addresses, asked when the page loads.</param>
    /// <param name="mintToken">Mints a token for a subject with <see cref="TokenScopes"/>; null serves no token.</param>
    public static async Task<WebPage> StartAsync(
        string url, string root, string environmentName, Func<WebPageConfig> config, Func<string, string>? mintToken, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Contoso.Retail.DevHost",
            EnvironmentName = environmentName,
            ContentRootPath = root,
            WebRootPath = root,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1));

        var app = builder.Build();
        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // A rebuilt page shows on reload.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.MapGet("/config.json", () => Results.Json(config(), contentType: MediaTypeNames.Application.Json));
        if (app.Environment.IsDevelopment() && mintToken is not null)
        {
            // POST, so no <img> or link prefetch can trigger it; the page is same-origin, and without CORS no
            // other origin can read the answer.
            app.MapPost(TokenPath, () => new WebPageToken(mintToken(Customer), Customer));
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await app.DisposeAsync();
            throw new ServiceStartException($"web page did not start: {ex.Message}", ex);
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WebPage(app, new UriBuilder(bound) { Path = "/" }.Uri);
    }

    /// <summary>A token the page can use: <see cref="TokenScopes"/> for <paramref name="subject"/>, one hour.</summary>
    public static string MintToken(DevHostSettings settings, string subject)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.MintToken(subject, TokenScopes, TokenLifetime);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
