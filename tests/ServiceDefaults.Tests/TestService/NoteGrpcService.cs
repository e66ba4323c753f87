using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults.Tests.TestService;

/// <summary>notes.v1.NoteService: just enough behaviour for the shared hosting and auth tests to call.</summary>
public sealed class NoteGrpcService(NotesDbContext db, IHostApplicationLifetime lifetime) : NoteService.NoteServiceBase
{
    public override async Task<SaveNoteResponse> SaveNote(SaveNoteRequest request, ServerCallContext context)
    {
        var note = await db.Notes.FindAsync([request.Note.Id], context.CancellationToken);
        if (note is null)
        {
            db.Notes.Add(new SavedNote { Id = request.Note.Id, Text = request.Note.Text });
        }
        else
        {
            note.Text = request.Note.Text;
        }

        await db.SaveChangesAsync(context.CancellationToken);
        return new SaveNoteResponse { Note = request.Note };
    }

    public override async Task<GetNoteResponse> GetNote(GetNoteRequest request, ServerCallContext context)
    {
        var note = await db.Notes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == request.Id, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No note '{request.Id}'."));
        return new GetNoteResponse { Note = ToWire(note) };
    }

    public override async Task<ListNotesResponse> ListNotes(ListNotesRequest request, ServerCallContext context)
    {
        var notes = await db.Notes.AsNoTracking().OrderBy(n => n.Id).ToListAsync(context.CancellationToken);
        return new ListNotesResponse { Notes = { notes.Select(ToWire) } };
    }

    public override async Task WatchNotes(WatchNotesRequest request, IServerStreamWriter<WatchNotesResponse> responseStream, ServerCallContext context)
    {
        var count = await db.Notes.CountAsync(context.CancellationToken);
        await responseStream.WriteAsync(new WatchNotesResponse { Count = count }, context.CancellationToken);
        using var open = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, open.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The service is stopping."));
        }
    }

    public override Task<UnscopedResponse> Unscoped(UnscopedRequest request, ServerCallContext context) =>
        Task.FromResult(new UnscopedResponse());

    private static Note ToWire(SavedNote note) => new() { Id = note.Id, Text = note.Text };
}
