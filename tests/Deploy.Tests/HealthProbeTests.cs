using Contoso.Retail.HealthProbe;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>
/// The health probe the images carry for compose health checks, against a real Kestrel server that serves
/// grpc.health.v1 and an HTTP health endpoint the way the services do ("" = ready, "liveness").
/// </summary>
public sealed class HealthProbeTests : IAsyncLifetime
{
    private volatile bool _ready = true;
    private WebApplication? _app;
    private string _grpc = "";
    private string _http = "";

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc();
        builder.Services.AddHealthChecks()
            .AddCheck("database", () => _ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(), tags: ["ready"])
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);
        builder.Services.AddGrpcHealthChecks(options =>
        {
            options.Services.Map("", check => check.Tags.Contains("ready"));
            options.Services.Map("liveness", check => check.Tags.Contains("live"));
        });
        _app = builder.Build();
        _app.MapGrpcHealthChecksService();
        _app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        await _app.StartAsync(TestContext.Current.CancellationToken);

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        _grpc = addresses[0].Replace("http://", "grpc://", StringComparison.Ordinal);
        _http = addresses[1] + "/health/ready";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Ready_service_is_healthy_over_grpc_and_http()
    {
        Assert.Equal(0, await Probe.RunAsync([_grpc], TextWriter.Null));
        Assert.Equal(0, await Probe.RunAsync([_http], TextWriter.Null));
    }

    [Fact]
    public async Task Unready_service_is_unhealthy_but_still_live()
    {
        _ready = false;
        var error = new StringWriter();

        Assert.Equal(1, await Probe.RunAsync([_grpc], error));
        Assert.Contains("NotServing", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await Probe.RunAsync([_http], TextWriter.Null));
        Assert.Equal(0, await Probe.RunAsync([_grpc + "/liveness"], TextWriter.Null));
    }

    [Fact]
    public async Task Nothing_listening_is_unhealthy()
    {
        var port = new Uri(_grpc.Replace("grpc://", "http://", StringComparison.Ordinal)).Port;
        await _app!.StopAsync(TestContext.Current.CancellationToken);
        var error = new StringWriter();

        Assert.Equal(1, await Probe.RunAsync([$"grpc://127.0.0.1:{port}"], error));
        Assert.StartsWith("unhealthy:", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("ftp://127.0.0.1:1")]
    [InlineData("not a url")]
    public async Task Bad_arguments_are_a_usage_error(params string[] args)
    {
        Assert.Equal(2, await Probe.RunAsync(args, TextWriter.Null));
    }
}
