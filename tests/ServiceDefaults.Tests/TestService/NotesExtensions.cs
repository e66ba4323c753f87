using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.TestService;

/// <summary>What the test service adds to a host, the way a real service's Extensions/ do.</summary>
public static class NotesExtensions
{
    /// <summary>The notes database (ConnectionStrings:Notes on Database:Provider), which also makes it part of readiness.</summary>
    public static WebApplicationBuilder AddNotes(this WebApplicationBuilder builder)
    {
        builder.AddServiceDatabase<WebApplicationBuilder, NotesDbContext, SqliteNotesDbContext, PostgresNotesDbContext>("Notes");
        return builder;
    }

    /// <summary>Maps notes.v1.NoteService and creates the schema (a test model has no migrations).</summary>
    public static async Task MapNotesAsync(this WebApplication app)
    {
        app.MapGrpcService<NoteGrpcService>();
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<NotesDbContext>().Database.EnsureCreatedAsync();
    }
}
