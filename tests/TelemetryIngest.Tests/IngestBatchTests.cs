using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>IngestBatch: one StreamIngest batch in a unary call (the REST form), with the same commit and de-duplication.</summary>
public sealed class IngestBatchTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task A_batch_is_committed_before_its_answer_and_stored_once_however_it_arrives(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db);
        var client = service.Client();
        var batch = new IngestBatchRequest { BatchId = "unary-1" };
        batch.Points.AddRange(MakePoints("sensor-u", T0, 300));

        var first = await client.IngestBatchAsync(batch, cancellationToken: ct);
        var storedAtAnswer = await service.CountPointsAsync("sensor-u");
        var again = await client.IngestBatchAsync(batch, cancellationToken: ct);

        Assert.Equal(("unary-1", 300, false), (first.BatchId, first.AcceptedPoints, first.Duplicate));
        Assert.Equal(300, storedAtAnswer);
        Assert.Equal(("unary-1", 300, true), (again.BatchId, again.AcceptedPoints, again.Duplicate));
        Assert.Equal(300, await service.CountPointsAsync("sensor-u"));

        // One batch id space with StreamIngest: a batch it committed is a duplicate here, not a second copy.
        using (var call = client.StreamIngest(cancellationToken: ct))
        {
            var streamed = new StreamIngestRequest { BatchId = "streamed-1" };
            streamed.Points.AddRange(MakePoints("sensor-u", T0.AddHours(1), 10));
            await call.RequestStream.WriteAsync(streamed, ct);
            await call.RequestStream.CompleteAsync();
            Assert.Single(await call.ResponseStream.ReadAllAsync(ct).ToListAsync(ct));
        }

        var resent = new IngestBatchRequest { BatchId = "streamed-1" };
        resent.Points.AddRange(MakePoints("sensor-u", T0.AddHours(1), 10));
        Assert.True((await client.IngestBatchAsync(resent, cancellationToken: ct)).Duplicate);
        Assert.Equal(310, await service.CountPointsAsync("sensor-u"));
    }

    [Fact]
    public async Task An_invalid_batch_is_invalid_argument_and_stores_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var service = await StartAsync(db);
        var batch = new IngestBatchRequest { BatchId = "bad-1" };
        batch.Points.AddRange(MakePoints("sensor-v", T0, 5));
        batch.Points[3].Value = double.NaN;

        var error = await Assert.ThrowsAsync<RpcException>(() => service.Client().IngestBatchAsync(batch, cancellationToken: ct).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("points[3].value", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, await service.CountPointsAsync("sensor-v"));
    }
}
