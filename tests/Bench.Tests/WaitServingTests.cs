using Contoso.Retail.LoadGen;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Contoso.Retail.Bench.Tests;

/// <summary>
/// `loadgen wait-serving --call SERVICE/METHOD`: how bench/run.sh times the plain Greeter's start, which has no health
/// service. A loopback Kestrel answers one unary method with OK and every other path with UNIMPLEMENTED.
/// </summary>
public sealed class WaitServingTests : IAsyncLifetime
{
    private WebApplication? _server;
    private string _target = "";

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        _server = builder.Build();
        _server.MapPost("/greet.Greeter/SayHello", context => Answer(context, "0"));
        _server.MapFallback(context => Answer(context, "12"));
        await _server.StartAsync(TestContext.Current.CancellationToken);
        _target = _server.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("greet.Greeter/SayHello", "20s", 0)] // the named method answers OK: done
    [InlineData("greet.Greeter/SayGoodbye", "1s", 1)] // it never answers OK: times out
    [InlineData(null, "1s", 1)] // no --call: only grpc.health.v1 SERVING counts, not any answer
    public async Task Wait_serving_returns_only_once_what_it_waits_for_answers(string? call, string timeout, int expected)
    {
        string[] args = ["wait-serving", "--target", _target, "--timeout", timeout];
        if (call is not null)
        {
            args = [.. args, "--call", call];
        }

        var code = await Commands.WaitServingAsync(Arguments.Parse(args), TestContext.Current.CancellationToken);

        Assert.Equal(expected, code);
    }

    [Fact]
    public async Task A_call_without_a_method_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Commands.WaitServingAsync(
            Arguments.Parse(["wait-serving", "--target", _target, "--call", "SayHello"]), TestContext.Current.CancellationToken));
    }

    /// <summary>An empty gRPC response message (for OK) and the status in the trailers.</summary>
    private static async Task Answer(HttpContext context, string grpcStatus)
    {
        context.Response.ContentType = "application/grpc";
        context.Response.AppendTrailer("grpc-status", grpcStatus);
        if (grpcStatus == "0")
        {
            await context.Response.Body.WriteAsync(new byte[5]);
        }
    }
}
