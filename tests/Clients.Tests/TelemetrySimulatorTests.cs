using System.Text.Json;

using Contoso.Retail.Cli;
using Contoso.Retail.Contracts.Telemetry.V1;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.Clients.Tests;

/// <summary>`contoso-retail telemetry simulate`: N devices streaming, reconnecting and resending what was not acknowledged.</summary>
public sealed class TelemetrySimulatorTests(ClientSystem system)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Simulate_streams_every_batch_of_every_device_and_each_point_is_stored_once()
    {
        var prefix = Prefix();

        var (exitCode, results, stderr) = await SimulateAsync(ClientSystem.Url(system.Telemetry.Address), prefix, devices: 3, batches: 5, batchSize: 20);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal([$"{prefix}-1", $"{prefix}-2", $"{prefix}-3"], results.Select(r => r.DeviceId));
        Assert.All(results, r => Assert.Equal((5, 5, 100L, 0), (r.Batches, r.Acknowledged, r.Points, r.Duplicates)));
        foreach (var result in results)
        {
            await AssertStoredOnceAsync(result.DeviceId, 100);
        }
    }

    [Fact]
    public async Task Simulate_reconnects_after_the_connection_is_cut_mid_stream_and_resends_so_every_point_is_stored_exactly_once()
    {
        var prefix = Prefix();
        // About 180 KB go upstream in all (3 x 20 x 50 points): cut every connection twice on the way.
        await using var proxy = FaultProxy.Start(system.Telemetry.Address);
        proxy.CutAfterUpstreamBytes(40_000, 110_000);

        var (exitCode, results, stderr) = await SimulateAsync(ClientSystem.Url(proxy.Address), prefix, devices: 3, batches: 20, batchSize: 50);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(2, proxy.Cuts);
        Assert.All(results, r => Assert.Equal((20, 20), (r.Batches, r.Acknowledged)));
        Assert.True(results.Sum(r => r.Reconnects) >= 2, $"expected the devices to reconnect after each cut:\n{stderr}");
        Assert.Contains("resending", stderr, StringComparison.Ordinal);
        foreach (var result in results)
        {
            await AssertStoredOnceAsync(result.DeviceId, 1000);
        }
    }

    private static string Prefix() => $"sim{Guid.NewGuid():N}"[..11];

    private static async Task<(int ExitCode, List<TelemetryDeviceResult> Results, string Stderr)> SimulateAsync(
        string telemetry, string prefix, int devices, int batches, int batchSize)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CliApp.RunAsync(
            ["--telemetry", telemetry, "--timeout", "5s", "--json", "telemetry", "simulate", "--devices", $"{devices}", "--batches", $"{batches}",
             "--batch-size", $"{batchSize}", "--device-prefix", prefix],
            stdout, stderr, TestContext.Current.CancellationToken);
        var results = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<TelemetryDeviceResult>(line, Json)!)
            .ToList();
        return (exitCode, results, stderr.ToString());
    }

    /// <summary>Queries the device back: the expected number of points, each timestamp once.</summary>
    private async Task AssertStoredOnceAsync(string device, int expected)
    {
        var telemetry = new TelemetryIngestService.TelemetryIngestServiceClient(system.Telemetry.Channel);
        var request = new QueryRequest
        {
            DeviceId = device,
            StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-1)),
            EndTime = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(1)),
        };
        using var call = telemetry.Query(request, cancellationToken: TestContext.Current.CancellationToken);
        var stamps = new List<Timestamp>();
        await foreach (var response in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            stamps.AddRange(response.Points.Select(p => p.Timestamp));
        }

        Assert.Equal(expected, stamps.Count);
        Assert.Equal(expected, stamps.Distinct().Count());
    }
}
