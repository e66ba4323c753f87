using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.ServiceDefaults.Tests.TestService;

/// <summary>A note as the test service stores it.</summary>
public sealed class SavedNote
{
    public required string Id { get; set; }

    public required string Text { get; set; }
}

/// <summary>The test service's model; a subclass per provider, as the real services have for their migrations.</summary>
public abstract class NotesDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<SavedNote> Notes => Set<SavedNote>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<SavedNote>(note =>
        {
            note.ToTable("notes");
            note.HasKey(n => n.Id);
            note.Property(n => n.Id).HasColumnName("id");
            note.Property(n => n.Text).HasColumnName("text");
        });
}

public sealed class SqliteNotesDbContext(DbContextOptions<SqliteNotesDbContext> options) : NotesDbContext(options);

public sealed class PostgresNotesDbContext(DbContextOptions<PostgresNotesDbContext> options) : NotesDbContext(options);
