using Microsoft.Data.Sqlite;

namespace Contoso.Retail.DevHost;

/// <summary>The three services running in this process: started in dependency order, stopped in reverse.</summary>
public sealed class RetailSystem(DevHostSettings settings, TextWriter output) : IAsyncDisposable
{
    private readonly List<ServiceHost> _services = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when any service is asked to stop: Ctrl+C and SIGTERM reach every host's lifetime.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public Uri Inventory => Service("inventory").GrpcAddress;

    public Uri Orders => Service("orders").GrpcAddress;

    public Uri Telemetry => Service("telemetry").GrpcAddress;

    /// <summary>Inventory first (Orders calls it), then Orders with Inventory's real address, then Telemetry.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.DataDir);
        await AddAsync(ServiceHost.StartInventoryAsync(settings, cancellationToken));
        await AddAsync(ServiceHost.StartOrdersAsync(settings, Inventory, cancellationToken));
        await AddAsync(ServiceHost.StartTelemetryAsync(settings, cancellationToken));
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

    private ServiceHost Service(string name) =>
        _services.FirstOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"{name} has not started.");
}
