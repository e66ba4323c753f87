using Contoso.Retail.Inventory.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

using Sku = Contoso.Retail.Contracts.Inventory.V1.Sku;

namespace Contoso.Retail.Inventory.Data;

/// <summary>
/// The Inventory model, shared by both providers. Each provider has a subclass
/// (<see cref="SqliteInventoryDbContext"/>, <see cref="PostgresInventoryDbContext"/>) with its own migrations.
/// </summary>
public abstract class InventoryDbContext : DbContext
{
    protected InventoryDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Item> Items => Set<Item>();

    public DbSet<Reservation> Reservations => Set<Reservation>();

    public DbSet<ReservationLine> ReservationLines => Set<ReservationLine>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Timestamps are stored and read back as UTC (SQLite keeps no kind; Npgsql requires UTC for timestamptz).
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Item>(item =>
        {
            item.ToTable("items");
            item.HasKey(i => i.Sku);
            item.Property(i => i.Sku).HasColumnName("sku").HasMaxLength(Sku.MaxLength);
            item.Property(i => i.Name).HasColumnName("name").HasMaxLength(Item.MaxNameLength);
            item.Property(i => i.Available).HasColumnName("available");
            item.Property(i => i.Reserved).HasColumnName("reserved");
            item.Property(i => i.Version).HasColumnName("version");
            item.Property(i => i.UpdatedAt).HasColumnName("updated_at");
            item.ToTable(t =>
            {
                t.HasCheckConstraint("ck_items_available", "available >= 0");
                t.HasCheckConstraint("ck_items_reserved", "reserved >= 0");
            });
        });

        modelBuilder.Entity<Reservation>(reservation =>
        {
            reservation.ToTable("reservations");
            reservation.HasKey(r => r.ReservationId);
            reservation.Property(r => r.ReservationId).HasColumnName("reservation_id").HasMaxLength(Reservation.MaxIdLength);
            reservation.Property(r => r.State).HasColumnName("state").HasConversion<string>().HasMaxLength(16);
            reservation.Property(r => r.CreatedAt).HasColumnName("created_at");
            reservation.Property(r => r.ReleasedAt).HasColumnName("released_at");
            reservation.HasMany(r => r.Lines).WithOne().HasForeignKey(l => l.ReservationId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ReservationLine>(line =>
        {
            line.ToTable("reservation_lines");
            line.HasKey(l => new { l.ReservationId, l.Sku });
            line.Property(l => l.ReservationId).HasColumnName("reservation_id").HasMaxLength(Reservation.MaxIdLength);
            line.Property(l => l.Sku).HasColumnName("sku").HasMaxLength(Sku.MaxLength);
            line.Property(l => l.Quantity).HasColumnName("quantity");
        });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        value => value.Kind == DateTimeKind.Utc ? value : value.ToUniversalTime(),
        value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
