using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.ServiceDefaults.Errors;
using Contoso.Retail.TelemetryIngest.Domain;

using Grpc.Core;

using Microsoft.Extensions.Options;

namespace Contoso.Retail.TelemetryIngest.Grpc;

/// <summary>telemetry.v1.TelemetryIngestService: validates, hands points to the store, maps back.</summary>
public sealed class TelemetryIngestGrpcService(
    TelemetryStore store, BatchWriter batches, IOptions<TelemetryOptions> options, IHostApplicationLifetime lifetime)
    : TelemetryIngestService.TelemetryIngestServiceBase
{
    /// <summary>Points per Query message; a chunk is also sent early once it reaches <see cref="QueryChunkBytes"/>.</summary>
    public const int QueryChunkPoints = 500;

    /// <summary>Keeps a Query message well under the default 4 MB message cap even with large labels.</summary>
    public const int QueryChunkBytes = 1024 * 1024;

    public override async Task<IngestResponse> Ingest(IAsyncStreamReader<IngestRequest> requestStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var maxPoints = options.Value.MaxPointsPerIngestCall;

        // One transaction for the whole call: an invalid point, a cancelled or broken call rolls it all back.
        await using var transaction = await store.BeginAsync(cancellationToken);
        long messages = 0;
        await foreach (var request in requestStream.ReadAllAsync(cancellationToken))
        {
            TelemetryValidation.ValidateIngestMessage(request, messages);
            TelemetryValidation.EnsureWithinIngestCap(transaction.Points, request.Points.Count, maxPoints);
            await transaction.WriteAsync(request.Points.Select(TelemetryMapper.ToStored), cancellationToken);
            messages++;
        }

        await transaction.CommitAsync(cancellationToken);
        return new IngestResponse { AcceptedPoints = transaction.Points, ReceivedMessages = messages };
    }

    public override async Task StreamIngest(
        IAsyncStreamReader<StreamIngestRequest> requestStream,
        IServerStreamWriter<StreamIngestResponse> responseStream,
        ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;

        // Shutdown ends the stream between batches: a batch already read is committed and acknowledged first.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            while (await requestStream.MoveNext(reading.Token))
            {
                var request = requestStream.Current;
                TelemetryValidation.ValidateBatch(request);
                var points = request.Points.Select(TelemetryMapper.ToStored).ToList();
                var stored = await batches.StoreAsync(request.BatchId, points, cancellationToken);

                // Only after the commit: an acknowledged batch is one the device may drop.
                await responseStream.WriteAsync(
                    new StreamIngestResponse { BatchId = request.BatchId, AcceptedPoints = stored.Points, Duplicate = stored.Duplicate },
                    cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // However the read was cut short by the shutdown (our token, or Kestrel aborting the request),
            // every acknowledged batch is committed: tell the device to resend the rest elsewhere.
            throw RpcErrors.Unavailable("The server is shutting down; resend unacknowledged batches on a new stream.");
        }
    }

    public override async Task<IngestBatchResponse> IngestBatch(IngestBatchRequest request, ServerCallContext context)
    {
        TelemetryValidation.ValidateBatch(request);
        var points = request.Points.Select(TelemetryMapper.ToStored).ToList();
        var stored = await batches.StoreAsync(request.BatchId, points, context.CancellationToken);
        return new IngestBatchResponse { BatchId = request.BatchId, AcceptedPoints = stored.Points, Duplicate = stored.Duplicate };
    }

    public override async Task Query(QueryRequest request, IServerStreamWriter<QueryResponse> responseStream, ServerCallContext context)
    {
        TelemetryValidation.ValidateQuery(request);
        var cancellationToken = context.CancellationToken;
        var points = store.Query(
            request.DeviceId, request.Metric, request.StartTime.ToDateTime(), request.EndTime.ToDateTime(), request.Limit, cancellationToken);

        var chunk = new QueryResponse();
        var chunkBytes = 0;
        var labels = new LabelsCache();
        await foreach (var point in points.WithCancellation(cancellationToken))
        {
            var wire = TelemetryMapper.ToWire(point, labels);
            chunk.Points.Add(wire);
            chunkBytes += wire.CalculateSize();
            if (chunk.Points.Count == QueryChunkPoints || chunkBytes >= QueryChunkBytes)
            {
                await responseStream.WriteAsync(chunk, cancellationToken);
                chunk = new QueryResponse();
                chunkBytes = 0;
            }
        }

        if (chunk.Points.Count > 0)
        {
            await responseStream.WriteAsync(chunk, cancellationToken);
        }
    }
}
