using System.Net;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;

using static Grpc.Health.V1.HealthCheckResponse.Types;

using HealthEndpoints = Contoso.Retail.ServiceDefaults.Health;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>grpc.health.v1 on the gRPC port and /health/* on the Management port, backed by the same checks.</summary>
public class HealthTests
{
    private static readonly Dictionary<string, string?> FastPublisher = new()
    {
        ["Health:PublishDelay"] = "00:00:00",
        ["Health:PublishPeriod"] = "00:00:01",
    };

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Readiness_is_NOT_SERVING_while_the_database_is_unreachable_and_SERVING_again_when_it_returns(DatabaseProvider provider)
    {
        await using var db = await UnreachableDatabase.CreateAsync(provider);
        await using var host = await NotesHost.StartAsync(new Dictionary<string, string?>(db.Settings.Concat(FastPublisher)));
        using var watch = host.Health.Watch(new HealthCheckRequest(), cancellationToken: NotesHost.Ct);
        await NotesHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.Serving);
        Assert.Equal(
            (ServingStatus.Serving, ServingStatus.Serving, HttpStatusCode.OK),
            (await host.CheckAsync(), await host.CheckAsync(NotesHost.ServiceName), await host.GetStatusAsync(HealthEndpoints.ReadyPath)));

        await db.MakeUnreachableAsync();
        await NotesHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.NotServing);
        Assert.Equal(
            (ServingStatus.NotServing, ServingStatus.NotServing, HttpStatusCode.ServiceUnavailable),
            (await host.CheckAsync(), await host.CheckAsync(NotesHost.ServiceName), await host.GetStatusAsync(HealthEndpoints.ReadyPath)));

        // Liveness doesn't depend on the database: restarting the process would not bring it back.
        Assert.Equal(
            (ServingStatus.Serving, HttpStatusCode.OK),
            (await host.CheckAsync(HealthEndpoints.LivenessService), await host.GetStatusAsync(HealthEndpoints.LivePath)));

        await db.RestoreAsync();
        await NotesHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.Serving);
        Assert.Equal(
            (ServingStatus.Serving, ServingStatus.Serving, HttpStatusCode.OK),
            (await host.CheckAsync(), await host.CheckAsync(NotesHost.ServiceName), await host.GetStatusAsync(HealthEndpoints.ReadyPath)));
    }

    [Fact]
    public async Task Each_gRPC_service_and_liveness_have_a_health_status_and_unknown_names_are_NOT_FOUND()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));

        Assert.Equal(ServingStatus.Serving, await host.CheckAsync(NotesHost.ServiceName));
        Assert.Equal(ServingStatus.Serving, await host.CheckAsync(HealthEndpoints.LivenessService));
        await RpcAssert.ThrowsAsync(StatusCode.NotFound, () => host.CheckAsync("other.v1.OtherService"));
    }

    [Fact]
    public async Task HTTP_health_endpoints_answer_on_the_Management_port_only()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        using var h2c = new HttpClient();

        var onManagement = await host.GetStatusAsync(HealthEndpoints.ReadyPath);
        using var onGrpcPort = await h2c.SendAsync(
            new HttpRequestMessage(HttpMethod.Get, new UriBuilder(host.Service.Address) { Path = HealthEndpoints.ReadyPath }.Uri)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            },
            NotesHost.Ct);

        Assert.Equal(HttpStatusCode.OK, onManagement);
        Assert.Equal(HttpStatusCode.NotFound, onGrpcPort.StatusCode);
    }
}
