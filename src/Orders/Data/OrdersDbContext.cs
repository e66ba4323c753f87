using Contoso.Retail.Orders.Model;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Contoso.Retail.Orders.Data;

/// <summary>
/// The Orders model, shared by both providers. Each provider has a subclass
/// (<see cref="SqliteOrdersDbContext"/>, <see cref="PostgresOrdersDbContext"/>) with its own migrations.
/// </summary>
public abstract class OrdersDbContext : DbContext
{
    protected OrdersDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Order> Orders => Set<Order>();

    public DbSet<OrderLine> OrderLines => Set<OrderLine>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        // Timestamps are stored and read back as UTC (SQLite keeps no kind; Npgsql requires UTC for timestamptz).
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<Order>(order =>
        {
            order.ToTable("orders");
            order.HasKey(o => o.Id);
            order.Property(o => o.Id).HasColumnName("order_id").HasMaxLength(36);
            order.Property(o => o.RequestId).HasColumnName("request_id").HasMaxLength(128);
            order.HasIndex(o => o.RequestId).IsUnique();
            order.Property(o => o.CustomerId).HasColumnName("customer_id").HasMaxLength(128);
            // Serves ListOrders: one customer's orders, newest (highest id) first.
            order.HasIndex(o => new { o.CustomerId, o.Id });
            order.Property(o => o.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16).IsConcurrencyToken();
            order.Property(o => o.StatusReason).HasColumnName("status_reason").HasMaxLength(1024);
            order.Property(o => o.RejectionDetails).HasColumnName("rejection_details");
            order.Property(o => o.ReleasePending).HasColumnName("release_pending");
            order.Property(o => o.CreatedAt).HasColumnName("created_at");
            order.Property(o => o.UpdatedAt).HasColumnName("updated_at");
            // Serve the reconciler: stale PENDING orders, and expired ones whose release is still owed.
            order.HasIndex(o => new { o.Status, o.CreatedAt });
            order.HasIndex(o => o.ReleasePending);
            order.Ignore(o => o.RejectionViolations);
            order.HasMany(o => o.Lines).WithOne().HasForeignKey(l => l.OrderId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<OrderLine>(line =>
        {
            line.ToTable("order_lines");
            line.HasKey(l => new { l.OrderId, l.Sku });
            line.Property(l => l.OrderId).HasColumnName("order_id").HasMaxLength(36);
            line.Property(l => l.Sku).HasColumnName("sku").HasMaxLength(64);
            line.Property(l => l.Quantity).HasColumnName("quantity");
        });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        value => value.Kind == DateTimeKind.Utc ? value : value.ToUniversalTime(),
        value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
