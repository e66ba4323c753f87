using System.Net;
using System.Net.Sockets;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Reliability.Tests.Infrastructure;

/// <summary>
/// A service's built dll (copied next to this test assembly) run as a child process with `dotnet`, on fixed free
/// loopback ports so a restart comes back at the same address; killed with SIGKILL, no goodbye.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private ServiceProcess(ChildProcess process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public string Output => _process.Output;

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
        var all = new Dictionary<string, string?>(settings)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Test",
            ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Management:Url"] = $"http://127.0.0.1:{FreePort()}",
            ["Kestrel:Endpoints:Management:Protocols"] = "Http1",
            ["Kestrel:Endpoints:Web:Url"] = $"http://127.0.0.1:{FreePort()}",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        var environment = all.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        var process = ChildProcess.Start(
            ChildProcess.DotnetHost, [Path.Combine(AppContext.BaseDirectory, assembly + ".dll")], AppContext.BaseDirectory, environment, maxLines: 2000);
        return new ServiceProcess(process, new Uri($"http://127.0.0.1:{grpcPort}"));
    }

    /// <summary>SIGKILL: the process gets no chance to flush, drain or say goodbye.</summary>
    public Task KillAsync() => _process.KillAsync();

    public bool HasExited => _process.HasExited;

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
