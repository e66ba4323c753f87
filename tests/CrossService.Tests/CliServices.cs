using Contoso.Retail.Cli;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>What one in-process run of the Cli printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>
/// Every service on real Kestrel (SQLite; the Cli does not care about the database),
/// shared by the Cli tests, which keep apart by using their own SKUs, customers and devices.
/// </summary>
public sealed class CliServices : IAsyncLifetime
{
    private TestSystem _system = null!;

    public RunningService Inventory => _system.Inventory;

    public RunningService Orders => _system.Orders;

    //#if (IncludeTelemetry)
    public RunningService Telemetry => _system.Telemetry;

    //#endif
    /// <summary>Runs `contoso-retail args...` against these services, capturing stdout and stderr.</summary>
    public Task<CliResult> RunAsync(params string[] args) =>
        RunCliAsync([
            .. args,
            "--inventory", Url(Inventory),
            "--orders", Url(Orders),
            //#if (IncludeTelemetry)
            "--telemetry", Url(Telemetry),
            //#endif
        ]);

    /// <summary>Runs `contoso-retail args...` exactly as given.</summary>
    public static async Task<CliResult> RunCliAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CliApp.RunAsync(args, stdout, stderr, TestContext.Current.CancellationToken);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    public async ValueTask InitializeAsync() =>
        _system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Inventory = new() { DefaultEndpoints = false },
            Orders = new() { DefaultEndpoints = false },
            //#if (IncludeTelemetry)
            Telemetry = new() { DefaultEndpoints = false },
            //#endif
        });

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    private static string Url(RunningService service) => service.Address.ToString().TrimEnd('/');
}
