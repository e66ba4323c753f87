using System.Net;
using System.Net.Sockets;

using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;

using Microsoft.AspNetCore.Builder;

using Microsoft.Extensions.DependencyInjection;

using HealthClient = Grpc.Health.V1.Health.HealthClient;

namespace Contoso.Retail.ServiceDefaults.Tests.TestService;

/// <summary>
/// The test service started the way a service's Program.cs starts it, on real Kestrel with both a gRPC port and a
/// Management port (HTTP/1.1), for the health, shutdown, limits and auth tests.
/// </summary>
internal sealed class NotesHost : IAsyncDisposable
{
    /// <summary>The test service's gRPC service name, as health and reflection report it.</summary>
    public const string ServiceName = "notes.v1.NoteService";

    private NotesHost(RunningService service)
    {
        Service = service;
        Client = new NoteService.NoteServiceClient(service.Channel);
        Health = new HealthClient(service.Channel);
        Http = new HttpClient { BaseAddress = new UriBuilder("http", "127.0.0.1", service.Services.GetRequiredService<ManagementEndpoint>().Port!.Value).Uri };
    }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public RunningService Service { get; }

    public NoteService.NoteServiceClient Client { get; }

    public HealthClient Health { get; }

    /// <summary>HTTP/1.1 client for the Management port.</summary>
    public HttpClient Http { get; }

    public int GrpcPort => Service.Address.Port;

    /// <param name="configure">Runs before AddServiceDefaults (e.g. to pick the environment, add a test interceptor).</param>
    public static async Task<NotesHost> StartAsync(
        IDictionary<string, string?> settings, Action<WebApplicationBuilder>? configure = null)
    {
        var all = new Dictionary<string, string?>(settings)
        {
            ["Kestrel:Endpoints:Management:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Management:Protocols"] = "Http1",
        };
        var service = await ServiceHosts.StartServiceAsync(
            new() { Settings = all, Prepare = configure }, builder => builder.AddNotes(), app => app.MapNotesAsync());
        return new NotesHost(service);
    }

    public async Task<HealthCheckResponse.Types.ServingStatus> CheckAsync(string service = "") =>
        (await Health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: Ct)).Status;

    public async Task<HttpStatusCode> GetStatusAsync(string path)
    {
        using var response = await Http.GetAsync(path, Ct);
        return response.StatusCode;
    }

    /// <summary>True when nothing accepts TCP connections on the gRPC port any more.</summary>
    public async Task<bool> RefusesConnectionsAsync()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, GrpcPort, Ct);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Service.DisposeAsync();
    }

    /// <summary>Reads Watch responses until one has <paramref name="status"/>; fails if the stream ends first.</summary>
    public static async Task WatchUntilAsync(IAsyncStreamReader<HealthCheckResponse> stream, HealthCheckResponse.Types.ServingStatus status)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (await stream.MoveNext(timeout.Token))
        {
            if (stream.Current.Status == status)
            {
                return;
            }
        }

        Assert.Fail($"The Watch stream ended before reporting {status}.");
    }
}

/// <summary>Holds every GetNote call inside the server until the test releases it: a call "in flight".</summary>
internal sealed class HoldGetNote : Interceptor
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public void Release() => _released.TrySetResult();

    public static void AddTo(WebApplicationBuilder builder, HoldGetNote hold)
    {
        builder.Services.AddSingleton(hold);
        builder.Services.AddGrpc(options => options.Interceptors.Add<HoldGetNote>());
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (request is GetNoteRequest)
        {
            _entered.TrySetResult();
            await _released.Task.WaitAsync(context.CancellationToken);
        }

        return await continuation(request, context);
    }
}
