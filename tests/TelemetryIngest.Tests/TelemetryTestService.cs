using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.TelemetryIngest.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.TelemetryIngest.Tests;

/// <summary>Starts the telemetry service on a test database and reads its tables directly.</summary>
internal static class TelemetryTestService
{
    public static readonly DateTime T0 = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <param name="configure">Runs on the builder after the service is added (a replaced registration).</param>
    public static Task<RunningService> StartAsync(
        TestDatabase db, Transport transport = Transport.InMemory, IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var all = db.Settings("Telemetry");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return ServiceHosts.StartTelemetryAsync(new() { Transport = transport, Settings = all, Configure = configure });
    }

    public static TelemetryIngestService.TelemetryIngestServiceClient Client(this RunningService service) => new(service.Channel);

    /// <summary>Rows in the points table, counted straight from the database.</summary>
    public static async Task<int> CountPointsAsync(this RunningService service, string? deviceId = null)
    {
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TelemetryDbContext>();
        return await db.Points.CountAsync(p => deviceId == null || p.DeviceId == deviceId, TestContext.Current.CancellationToken);
    }

    public static Point MakePoint(string deviceId, DateTime timestamp, double value, string metric = "temperature_c", params (string Key, string Value)[] labels)
    {
        var point = new Point { DeviceId = deviceId, Metric = metric, Timestamp = Timestamp.FromDateTime(timestamp), Value = value };
        foreach (var (key, labelValue) in labels)
        {
            point.Labels[key] = labelValue;
        }

        return point;
    }

    /// <summary><paramref name="count"/> points one millisecond apart from <paramref name="start"/>, value = index.</summary>
    public static IEnumerable<Point> MakePoints(string deviceId, DateTime start, int count, int firstIndex = 0) =>
        Enumerable.Range(firstIndex, count).Select(i => MakePoint(deviceId, start.AddMilliseconds(i), i, labels: ("seq", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    public static async Task<List<QueryResponse>> QueryAllAsync(
        this TelemetryIngestService.TelemetryIngestServiceClient client, QueryRequest request)
    {
        var responses = new List<QueryResponse>();
        using var call = client.Query(request, cancellationToken: TestContext.Current.CancellationToken);
        await foreach (var response in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            responses.Add(response);
        }

        return responses;
    }

    public static QueryRequest QueryFor(string deviceId, DateTime start, DateTime end, int limit = 0, string metric = "") => new()
    {
        DeviceId = deviceId,
        Metric = metric,
        StartTime = Timestamp.FromDateTime(start),
        EndTime = Timestamp.FromDateTime(end),
        Limit = limit,
    };
}
