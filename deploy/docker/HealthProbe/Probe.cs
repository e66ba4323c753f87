using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Contoso.Retail.HealthProbe;

/// <summary>
/// Checks one service's health and answers with an exit code, for container runtimes whose health checks run a
/// command inside the container (docker compose) and images that have no shell, curl or grpc_health_probe.
/// <list type="bullet">
/// <item><c>grpc://host:port</c> calls grpc.health.v1.Health/Check for service "" (readiness) over cleartext HTTP/2;
/// <c>grpc://host:port/liveness</c> asks for service "liveness" - what Kubernetes' native gRPC probes ask.</item>
/// <item><c>http://host:port/health/ready</c> is a GET that must answer 2xx (the management port).</item>
/// </list>
/// Exit codes: 0 healthy (SERVING / 2xx), 1 unhealthy or unreachable, 2 usage error.
/// </summary>
public static class Probe
{
    public const int Healthy = 0;

    public const int Unhealthy = 1;

    public const int Usage = 2;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Count != 1 || !Uri.TryCreate(args[0], UriKind.Absolute, out var target)
            || target.Scheme is not ("grpc" or "http" or "https"))
        {
            await error.WriteLineAsync("usage: healthprobe grpc://host:port[/service] | http://host:port/path");
            return Usage;
        }

        using var timeout = new CancellationTokenSource(DefaultTimeout);
        try
        {
            return target.Scheme == "grpc"
                ? await CheckGrpcAsync(target, error, timeout.Token)
                : await CheckHttpAsync(target, error, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or RpcException or OperationCanceledException)
        {
            await error.WriteLineAsync($"unhealthy: {target}: {ex.Message}");
            return Unhealthy;
        }
    }

    private static async Task<int> CheckGrpcAsync(Uri target, TextWriter error, CancellationToken cancellationToken)
    {
        var service = target.AbsolutePath.Trim('/');
        using var channel = GrpcChannel.ForAddress(
            new UriBuilder(target) { Scheme = Uri.UriSchemeHttp, Path = "" }.Uri,
            new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { UseProxy = false } });
        var reply = await new Health.HealthClient(channel).CheckAsync(
            new HealthCheckRequest { Service = service }, cancellationToken: cancellationToken);
        if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
        {
            return Healthy;
        }

        await error.WriteLineAsync($"unhealthy: {target}: {reply.Status}");
        return Unhealthy;
    }

    private static async Task<int> CheckHttpAsync(Uri target, TextWriter error, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var response = await http.GetAsync(target, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return Healthy;
        }

        await error.WriteLineAsync($"unhealthy: {target}: HTTP {(int)response.StatusCode}");
        return Unhealthy;
    }
}
