using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

using Contoso.Retail.Contracts.Auth;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>
/// A service's built dll (copied next to this test assembly) run as a child process with `dotnet`, on fixed free
/// loopback ports so a restart comes back at the same address; killed with SIGKILL, no goodbye.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public string Output => string.Join('\n', _output);

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <param name="assembly">The service's assembly name, e.g. "Contoso.Retail.Orders".</param>
    /// <param name="settings">Configuration, passed as environment variables (":" becomes "__").</param>
    public static ServiceProcess Start(string assembly, int grpcPort, IDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"));
        var all = new Dictionary<string, string?>(settings)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Test",
            ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Management:Url"] = $"http://127.0.0.1:{FreePort()}",
            ["Kestrel:Endpoints:Management:Protocols"] = "Http1",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in all)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = start };
        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{grpcPort}"));
        process.OutputDataReceived += (_, e) => service.Collect(e.Data);
        process.ErrorDataReceived += (_, e) => service.Collect(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>SIGKILL: the process gets no chance to flush, drain or say goodbye.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    public bool HasExited => _process.HasExited;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private void Collect(string? line)
    {
        if (line is not null && _output.Count < 2000)
        {
            _output.Enqueue(line);
        }
    }
}
