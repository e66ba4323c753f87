using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.Grpc;

/// <summary>An exception no handler expects reaches the caller as INTERNAL, with none of its text (ExceptionInterceptor).</summary>
public class UnexpectedFailureTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task An_unexpected_failure_is_internal_without_the_exception_text(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        await host.Client.SaveNoteAsync(new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "kept" } }, cancellationToken: NotesHost.Ct);
        // Break the schema under the running service: every note query now fails inside the database.
        await using (var scope = host.Service.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<NotesDbContext>().Database.ExecuteSqlRawAsync("DROP TABLE notes", NotesHost.Ct);
        }

        var ex = await RpcAssert.ThrowsAsync(StatusCode.Internal,
            () => host.Client.GetNoteAsync(new GetNoteRequest { Id = "n-1" }, cancellationToken: NotesHost.Ct).ResponseAsync);

        Assert.StartsWith("An internal error occurred.", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("notes", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(ex.Trailers, t => t.Key.Contains("exception", StringComparison.OrdinalIgnoreCase)
            || (!t.IsBinary && t.Value.Contains("notes", StringComparison.Ordinal)));
    }
}
