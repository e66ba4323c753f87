using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using static Contoso.Retail.TelemetryIngest.Tests.TelemetryTestService;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>A long-lived StreamIngest ends with a status when the service stops, instead of holding the shutdown.</summary>
public sealed class ShutdownTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task An_open_StreamIngest_ends_UNAVAILABLE_when_the_service_stops_and_acked_batches_are_kept(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var service = await StartAsync(db, Transport.Kestrel, new Dictionary<string, string?>
        {
            // Without the stream ending by itself, stopping would wait all of this for it.
            ["Shutdown:Timeout"] = "00:10:00",
        });
        using var call = service.Client().StreamIngest(cancellationToken: ct);
        var batch = new StreamIngestRequest { BatchId = "sensor-1-0" };
        batch.Points.AddRange(MakePoints("sensor-1", T0, 10));
        await call.RequestStream.WriteAsync(batch, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));
        var ack = call.ResponseStream.Current;

        var stopping = service.App.StopAsync(ct);
        var ended = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(ct).WaitAsync(TimeSpan.FromMinutes(1), ct));
        await stopping.WaitAsync(TimeSpan.FromMinutes(1), ct);

        // The service answers UNAVAILABLE. Rarely, on a loaded machine, the client instead sees the connection end before
        // the trailers arrive (INTERNAL raised by the client itself, with the transport error attached) - the known
        // shutdown race in docs/reliability.md. Either way nothing acknowledged is lost; a status the server sent
        // must be UNAVAILABLE.
        if (ended.StatusCode == StatusCode.Internal && ended.Status.DebugException is not null)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"Client-side INTERNAL (connection ended before trailers): {ended.Status.DebugException.Message}");
        }
        else
        {
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
            Assert.Contains("shutting down", ended.Status.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(("sensor-1-0", 10), (ack.BatchId, ack.AcceptedPoints));
        Assert.Equal(10, await service.CountPointsAsync("sensor-1"));
    }
}
