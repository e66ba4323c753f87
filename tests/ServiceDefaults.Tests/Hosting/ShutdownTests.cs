using System.Net;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;

using Microsoft.Extensions.DependencyInjection;

using Serilog.Core;
using Serilog.Events;

using static Grpc.Health.V1.HealthCheckResponse.Types;

using HealthEndpoints = Contoso.Retail.ServiceDefaults.Health;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>Stopping (SIGTERM reaches the host as StopAsync): readiness first, then Kestrel, in-flight calls finish.</summary>
public class ShutdownTests
{
    [Fact]
    public async Task A_unary_call_in_flight_when_the_service_stops_completes_OK_while_new_connections_are_refused()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var hold = new HoldGetNote();
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"), builder => HoldGetNote.AddTo(builder, hold));
        await host.Client.SaveNoteAsync(new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "kept" } }, cancellationToken: NotesHost.Ct);
        using var inFlight = host.Client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct);
        await hold.Entered.WaitAsync(NotesHost.Ct);

        var stopping = host.Service.App.StopAsync(NotesHost.Ct);
        await Eventually.HoldsAsync(host.RefusesConnectionsAsync, "Kestrel to stop accepting connections", TimeSpan.FromSeconds(30));
        hold.Release();
        var note = await inFlight;
        await stopping;

        Assert.Equal(("n-1", "kept"), (note.Note.Id, note.Note.Text));
    }

    [Fact]
    public async Task During_the_drain_readiness_is_NOT_SERVING_and_calls_are_still_served()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var logs = new CapturedLogs();
        await using var host = await NotesHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Notes"))
            {
                ["Shutdown:DrainDelay"] = "00:10:00",
                ["Shutdown:Timeout"] = "00:15:00",
                ["Serilog:MinimumLevel:Default"] = "Information",
            },
            builder => builder.Services.AddSingleton<ILogEventSink>(logs));
        await host.Client.SaveNoteAsync(new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "kept" } }, cancellationToken: NotesHost.Ct);
        using var watch = host.Health.Watch(new HealthCheckRequest(), cancellationToken: NotesHost.Ct);
        await NotesHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.Serving);
        using var endDrain = CancellationTokenSource.CreateLinkedTokenSource(NotesHost.Ct);

        var stopping = host.Service.App.StopAsync(endDrain.Token);
        await NotesHost.WatchUntilAsync(watch.ResponseStream, ServingStatus.NotServing);
        var ready = (await host.CheckAsync(), await host.CheckAsync(NotesHost.ServiceName), await host.GetStatusAsync(HealthEndpoints.ReadyPath));
        var live = (await host.CheckAsync(HealthEndpoints.LivenessService), await host.GetStatusAsync(HealthEndpoints.LivePath));
        var served = await host.Client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct);
        await endDrain.CancelAsync();
        await stopping;

        Assert.Equal((ServingStatus.NotServing, ServingStatus.NotServing, HttpStatusCode.ServiceUnavailable), ready);
        Assert.Equal((ServingStatus.Serving, HttpStatusCode.OK), live);
        Assert.Equal("kept", served.Note.Text);

        // Stopping is no failure: the probes that found readiness NOT_SERVING wrote no Error line.
        Assert.Contains(logs.Events, e => e.MessageTemplate.Text.StartsWith("Stopping: readiness is NOT_SERVING", StringComparison.Ordinal));
        Assert.Empty(logs.Events.Where(e => e.Level >= LogEventLevel.Error).Select(CapturedLogs.FullText));
    }

    [Fact]
    public async Task A_call_still_running_at_Shutdown_Timeout_is_cut_off_so_the_stop_completes()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var hold = new HoldGetNote();
        await using var host = await NotesHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Notes")) { ["Shutdown:Timeout"] = "00:00:01" },
            builder => HoldGetNote.AddTo(builder, hold));
        using var stuck = host.Client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct);
        await hold.Entered.WaitAsync(NotesHost.Ct);

        // Far longer than Shutdown:Timeout, far shorter than the framework's 30 s default.
        await host.Service.App.StopAsync(NotesHost.Ct).WaitAsync(TimeSpan.FromSeconds(20), NotesHost.Ct);
        var cutOff = await Assert.ThrowsAsync<RpcException>(() => stuck.ResponseAsync);

        Assert.NotEqual(StatusCode.OK, cutOff.StatusCode);
    }
}
