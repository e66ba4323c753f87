using Contoso.Retail.TelemetryIngest.Model;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.TelemetryIngest.Data;

/// <summary>
/// The telemetry model. Table and column names are spelled out because the bulk writers
/// (<see cref="PointWriter"/>) address them in raw SQL and COPY.
/// </summary>
public abstract class TelemetryDbContext(DbContextOptions options) : DbContext(options)
{
    public const int MaxDeviceIdLength = 128;
    public const int MaxMetricLength = 128;
    public const int MaxBatchIdLength = 128;

    public DbSet<TelemetryPoint> Points => Set<TelemetryPoint>();

    public DbSet<IngestedBatch> IngestedBatches => Set<IngestedBatch>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<TelemetryPoint>(point =>
        {
            point.ToTable("points");
            point.HasKey(p => p.Id);
            point.Property(p => p.Id).HasColumnName("id").ValueGeneratedOnAdd();
            point.Property(p => p.DeviceId).HasColumnName("device_id").HasMaxLength(MaxDeviceIdLength);
            point.Property(p => p.Metric).HasColumnName("metric").HasMaxLength(MaxMetricLength);
            point.Property(p => p.Timestamp).HasColumnName("timestamp");
            point.Property(p => p.Value).HasColumnName("value");
            point.Property(p => p.Labels).HasColumnName("labels");
            point.HasIndex(p => new { p.DeviceId, p.Timestamp }).HasDatabaseName("ix_points_device_id_timestamp");
        });

        modelBuilder.Entity<IngestedBatch>(batch =>
        {
            batch.ToTable("ingested_batches");
            batch.HasKey(b => b.BatchId);
            batch.Property(b => b.BatchId).HasColumnName("batch_id").HasMaxLength(MaxBatchIdLength);
            batch.Property(b => b.Points).HasColumnName("points");
            batch.Property(b => b.CommittedAt).HasColumnName("committed_at");
        });
    }
}
