using Contoso.Retail.ServiceDefaults;

using Microsoft.Data.Sqlite;

namespace Contoso.Retail.DevHost;

/// <summary>The three services running in this process: started in dependency order, stopped in reverse.</summary>
public sealed class DevHostSystem(DevHostSettings settings, TextWriter output) : IAsyncDisposable
{
    private readonly List<ServiceHost> _services = [];
    private WebPage? _page;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when any service is asked to stop: Ctrl+C and SIGTERM reach every host's lifetime.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public Uri Inventory => Service("inventory").GrpcAddress;

    public Uri Orders => Service("orders").GrpcAddress;

    //#if (IncludeTelemetry)
    public Uri Telemetry => Service("telemetry").GrpcAddress;

    //#endif
    /// <summary>Where the browser page is served; null in --demo, outside Development, or when it is not built.</summary>
    public Uri? Page => _page?.Address;

    /// <summary>
    /// The page first (the services' CORS needs its real origin), then Inventory (Orders calls it), Orders with
    /// Inventory's real address, and the rest.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.DataDir);
        _page = await StartPageAsync(cancellationToken);
        var pageOrigin = _page?.Origin ?? new Uri(settings.PageUrl).GetLeftPart(UriPartial.Authority);
        await AddAsync(ServiceHost.StartInventoryAsync(settings, pageOrigin, cancellationToken));
        await AddAsync(ServiceHost.StartOrdersAsync(settings, Inventory, pageOrigin, cancellationToken));
        //#if (IncludeTelemetry)
        await AddAsync(ServiceHost.StartTelemetryAsync(settings, pageOrigin, cancellationToken));
        //#endif
        foreach (var service in _services.Where(s => s.App.Services.GetRequiredService<RestSettings>().Enabled))
        {
            // REST/JSON (the protos' google.api.http routes) shares the HTTP/1.1 endpoint with gRPC-Web.
            await output.WriteLineAsync($"rest {service.Name} {service.WebAddress.ToString().TrimEnd('/')}");
        }

        if (_page is not null)
        {
            // Not a "ready" line: those name the services.
            await output.WriteLineAsync($"web page {_page.Address}  (live stock and ordering in the browser, over gRPC-Web)");
        }
        else if (!settings.Demo && settings.IsDevelopment)
        {
            await output.WriteLineAsync("web page not built: npm --prefix clients/web ci && npm --prefix clients/web run build, then restart");
        }
    }

    public Task WaitForShutdownAsync()
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Stopping.Register(() => stopped.TrySetResult());
        return stopped.Task;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _services.Count - 1; i >= 0; i--)
        {
            await _services[i].DisposeAsync();
        }

        _services.Clear();
        if (_page is not null)
        {
            await _page.DisposeAsync();
            _page = null;
        }

        _stopping.Dispose();
        if (settings.TemporaryDataDir && Directory.Exists(settings.DataDir))
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(settings.DataDir, recursive: true);
        }
    }

    private async Task AddAsync(Task<ServiceHost> starting)
    {
        var service = await starting;
        _services.Add(service);
        service.App.Lifetime.ApplicationStopping.Register(_stopping.Cancel);
        await output.WriteLineAsync($"ready {service.Name} {service.GrpcAddress.ToString().TrimEnd('/')}");
    }

    /// <summary>Development only: the page's token endpoint must never exist elsewhere, and the page needs it.</summary>
    private async Task<WebPage?> StartPageAsync(CancellationToken cancellationToken)
    {
        if (settings.Demo || !settings.IsDevelopment || settings.PageRoot is null)
        {
            return null;
        }

        Func<string, string>? mint = settings.DevSigningKey is null ? null : subject => WebPage.MintToken(settings, subject);
        return await WebPage.StartAsync(settings.PageUrl, settings.PageRoot, settings.EnvironmentName,
            () => new WebPageConfig(Web("inventory"), Web("orders"))
            {
                //#if (IncludeTelemetry)
                Telemetry = Web("telemetry"),
                //#endif
            },
            mint,
            cancellationToken);

        string Web(string service) => Service(service).WebAddress.ToString().TrimEnd('/');
    }

    private ServiceHost Service(string name) =>
        _services.FirstOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"{name} has not started.");
}
