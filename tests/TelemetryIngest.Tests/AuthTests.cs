using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>
/// Auth on the streaming shapes: StreamIngest (bidirectional) and Ingest (client streaming) need telemetry.write,
/// Query (server streaming) needs telemetry.read.
/// </summary>
public class AuthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(AuthCases.Unauthenticated), MemberType = typeof(AuthCases))]
    public async Task StreamIngest_with_unacceptable_credentials_is_unauthenticated_and_stores_nothing(string credentials)
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        using var channel = service.CreateChannel(token: null);
        var headers = AuthCases.Headers(service, credentials, "telemetry.write");

        var ex = await Assert.ThrowsAsync<RpcException>(() => StreamOneBatchAsync(channel, headers));

        AuthCases.AssertUnauthenticated(ex, headers);
        Assert.Equal(0, await service.CountPointsAsync());
    }

    [Fact]
    public async Task StreamIngest_with_telemetry_write_is_acknowledged()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        using var channel = service.CreateChannel(service.MintToken(["telemetry.write"]));

        var acks = await StreamOneBatchAsync(channel);

        Assert.Equal(("dev-1-1", 3), (Assert.Single(acks).BatchId, acks[0].AcceptedPoints));
        Assert.Equal(3, await service.CountPointsAsync("dev-1"));
    }

    [Fact]
    public async Task StreamIngest_with_only_telemetry_read_is_permission_denied_naming_telemetry_write()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        using var channel = service.CreateChannel(service.MintToken(["telemetry.read"]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => StreamOneBatchAsync(channel));

        AuthCases.AssertPermissionDenied(ex, "telemetry.write");
        Assert.Equal(0, await service.CountPointsAsync());
    }

    [Fact]
    public async Task Ingest_with_only_telemetry_read_is_permission_denied_and_with_telemetry_write_stores_the_points()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        using var reader = service.CreateChannel(service.MintToken(["telemetry.read"]));
        using var writer = service.CreateChannel(service.MintToken(["telemetry.write"]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => IngestAsync(reader));
        var summary = await IngestAsync(writer);

        AuthCases.AssertPermissionDenied(ex, "telemetry.write");
        Assert.Equal(3, summary.AcceptedPoints);
        Assert.Equal(3, await service.CountPointsAsync("dev-1"));
    }

    [Fact]
    public async Task Query_needs_telemetry_read()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        using var writer = service.CreateChannel(service.MintToken(["telemetry.write"]));
        using var reader = service.CreateChannel(service.MintToken(["telemetry.read"]));
        using var anonymous = service.CreateChannel(token: null);

        await IngestAsync(writer);

        var denied = await Assert.ThrowsAsync<RpcException>(() => new TelemetryIngestService.TelemetryIngestServiceClient(writer).QueryAllAsync(QueryFor("dev-1", T0, T0.AddHours(1))));
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() => new TelemetryIngestService.TelemetryIngestServiceClient(anonymous).QueryAllAsync(QueryFor("dev-1", T0, T0.AddHours(1))));
        var responses = await new TelemetryIngestService.TelemetryIngestServiceClient(reader).QueryAllAsync(QueryFor("dev-1", T0, T0.AddHours(1)));

        AuthCases.AssertPermissionDenied(denied, "telemetry.read");
        AuthCases.AssertUnauthenticated(unauthenticated, []);
        Assert.Equal(3, responses.Sum(r => r.Points.Count));
    }

    /// <summary>One batch of three points over StreamIngest; the call's first failure, from writing or reading, is thrown.</summary>
    private static async Task<List<StreamIngestResponse>> StreamOneBatchAsync(GrpcChannel channel, Metadata? headers = null)
    {
        using var call = new TelemetryIngestService.TelemetryIngestServiceClient(channel).StreamIngest(headers, cancellationToken: Ct);
        var batch = new StreamIngestRequest { BatchId = "dev-1-1" };
        batch.Points.AddRange(MakePoints("dev-1", T0, 3));
        try
        {
            await call.RequestStream.WriteAsync(batch, Ct);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server ended the call before reading; its status comes from the response stream below.
        }

        var acks = new List<StreamIngestResponse>();
        await foreach (var ack in call.ResponseStream.ReadAllAsync(Ct))
        {
            acks.Add(ack);
        }

        return acks;
    }

    private static async Task<IngestResponse> IngestAsync(GrpcChannel channel)
    {
        using var call = new TelemetryIngestService.TelemetryIngestServiceClient(channel).Ingest(cancellationToken: Ct);
        try
        {
            await call.RequestStream.WriteAsync(new IngestRequest { Points = { MakePoints("dev-1", T0, 3) } }, Ct);

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server ended the call before reading; its status comes with the response below.
        }

        return await call.ResponseAsync;
    }
}
