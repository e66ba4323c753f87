using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>Message size caps (Grpc:MaxMessageSize) and Kestrel's HTTP/2 limits (Kestrel:Limits).</summary>
public class LimitsTests
{
    [Fact]
    public async Task A_request_larger_than_Grpc_MaxMessageSize_is_RESOURCE_EXHAUSTED()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Notes")) { ["Grpc:MaxMessageSize"] = "1024" });

        var save = new SaveNoteRequest { Note = new Note { Id = "n-1", Text = new string('k', 2048) } };

        await RpcAssert.ThrowsAsync(StatusCode.ResourceExhausted, () => host.Client.SaveNoteAsync(save, cancellationToken: NotesHost.Ct).ResponseAsync);
    }

    [Fact]
    public async Task A_response_larger_than_Grpc_MaxMessageSize_is_RESOURCE_EXHAUSTED()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Notes")) { ["Grpc:MaxMessageSize"] = "1024" });
        for (var i = 0; i < 10; i++)
        {
            await host.Client.SaveNoteAsync(
                new SaveNoteRequest { Note = new Note { Id = $"n-{i}", Text = new string('k', 150) } }, cancellationToken: NotesHost.Ct);
        }

        await RpcAssert.ThrowsAsync(StatusCode.ResourceExhausted,
            () => host.Client.ListNotesAsync(new ListNotesRequest(), cancellationToken: NotesHost.Ct).ResponseAsync);
    }

    [Fact]
    public async Task Calls_beyond_MaxStreamsPerConnection_wait_for_a_free_stream_and_the_server_keeps_serving()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(
            new Dictionary<string, string?>(db.Settings("Notes")) { ["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = "2" });
        await host.Client.SaveNoteAsync(new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "kept" } }, cancellationToken: NotesHost.Ct);

        // One connection only (GrpcChannel would otherwise open more when the server's stream limit is reached).
        using var channel = BearerChannel.ForAddress(host.Service.Address, host.Service.Token!, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
        });
        var client = new NoteService.NoteServiceClient(channel);

        // A burst on a new connection can exceed the limit before the client has the server's SETTINGS.
        var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct).ResponseAsync));

        using var first = client.WatchNotes(new WatchNotesRequest(), cancellationToken: NotesHost.Ct);
        using var second = client.WatchNotes(new WatchNotesRequest(), cancellationToken: NotesHost.Ct);
        Assert.True(await first.ResponseStream.MoveNext(NotesHost.Ct));
        Assert.True(await second.ResponseStream.MoveNext(NotesHost.Ct));
        var queued = client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: NotesHost.Ct);
        var waited = await Assert.ThrowsAsync<RpcException>(() => queued.ResponseAsync);
        first.Dispose();
        var afterAStreamEnded = await client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct);

        Assert.All(burst, reply => Assert.Equal("kept", reply.Note.Text));
        Assert.Equal(StatusCode.DeadlineExceeded, waited.StatusCode);
        Assert.Equal("kept", afterAStreamEnded.Note.Text);
    }
}
