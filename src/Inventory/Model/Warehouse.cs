using Contoso.Retail.Inventory.Data;
using Contoso.Retail.ServiceDefaults.Data;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Model;

/// <summary>The outcome of releasing a reservation.</summary>
public sealed record Release(string ReservationId, bool ReleasedNow);

/// <summary>
/// Every write to stock: each in one transaction whose first statement is a write (SQLite then holds the
/// write lock from the start and never has to upgrade a read lock), and each published to the
/// <see cref="StockChangeFeed"/> only after it commits.
/// </summary>
public sealed class Warehouse(InventoryDbContext db, StockChangeFeed feed, TimeProvider time, InventoryMetrics metrics)
{
    // A unique violation means a concurrent call got there first; one more attempt sees its row.
    private const int MaxAttempts = 3;

    /// <summary>Creates the item or sets its name and available quantity; reserved stock is left alone.</summary>
    public async Task<(Item Item, bool Created)> UpsertItemAsync(string sku, string name, int available, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var now = Now();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var updated = await db.Items.Where(i => i.Sku == sku).ExecuteUpdateAsync(set => set
                .SetProperty(i => i.Name, name)
                .SetProperty(i => i.Available, available)
                .SetProperty(i => i.Version, i => i.Version + 1)
                .SetProperty(i => i.UpdatedAt, now), cancellationToken);

            var created = updated == 0;
            if (created)
            {
                db.Items.Add(new Item { Sku = sku, Name = name, Available = available, Version = 1, UpdatedAt = now });
                try
                {
                    await db.SaveChangesAsync(cancellationToken);
                }
                catch (DbUpdateException ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
                {
                    await RollBackAsync(transaction);
                    continue;
                }
            }

            var item = await db.Items.AsNoTracking().SingleAsync(i => i.Sku == sku, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
            feed.Publish([StockChange.Of(item)]);
            return (item, created);
        }
    }

    /// <summary>
    /// Takes stock for every line or for none. The reservation row is inserted first: its primary key
    /// is the idempotency key, so a concurrent duplicate collides on it and is answered from the stored row.
    /// Each line is a conditional update that only succeeds while enough stock is available, so stock
    /// is never oversold, whatever runs at the same time.
    /// </summary>
    /// <exception cref="Grpc.Core.RpcException">
    /// FAILED_PRECONDITION when stock is short or the id was released; ALREADY_EXISTS when the id holds other lines.
    /// </exception>
    public async Task<Reservation> ReserveAsync(string reservationId, IReadOnlyCollection<StockLine> lines, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            // Retries are the common duplicate; answering them without a failed insert keeps the logs clean.
            var existing = await FindReservationAsync(reservationId, cancellationToken);
            if (existing is not null)
            {
                metrics.Replayed();
                return ReservationRules.Replay(existing, lines);
            }

            var reservation = Reservation.Create(reservationId, lines, Now());
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            db.Reservations.Add(reservation);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
            {
                await RollBackAsync(transaction);
                continue;
            }

            var shortLines = new List<StockLine>();
            foreach (var line in reservation.StockLines())
            {
                var taken = await MoveStockAsync(line.Sku, -line.Quantity, reservation.CreatedAt, cancellationToken);
                if (!taken)
                {
                    shortLines.Add(line);
                }
            }

            var skus = reservation.Lines.Select(l => l.Sku).ToList();
            if (shortLines.Count > 0)
            {
                var available = await db.Items.AsNoTracking()
                    .Where(i => skus.Contains(i.Sku))
                    .ToDictionaryAsync(i => i.Sku, i => i.Available, cancellationToken);
                await RollBackAsync(transaction);
                metrics.Rejected();
                throw ReservationRules.Shortage(shortLines, available);
            }

            var changes = await ReadChangesAsync(skus, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
            feed.Publish(changes);
            metrics.Reserved(reservation.Lines.Sum(l => (long)l.Quantity));
            return reservation;
        }
    }

    /// <summary>
    /// Gives an active reservation's stock back. Idempotent: a released id stays released, and an unknown
    /// id is recorded as released (a tombstone) so a ReserveStock arriving late with it is refused.
    /// </summary>
    public async Task<Release> ReleaseAsync(string reservationId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var now = Now();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var released = await db.Reservations
                .Where(r => r.ReservationId == reservationId && r.State == ReservationState.Active)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(r => r.State, ReservationState.Released)
                    .SetProperty(r => r.ReleasedAt, now), cancellationToken);

            if (released == 1)
            {
                var lines = await db.ReservationLines.AsNoTracking()
                    .Where(l => l.ReservationId == reservationId)
                    .OrderBy(l => l.Sku)
                    .ToListAsync(cancellationToken);
                foreach (var line in lines)
                {
                    await MoveStockAsync(line.Sku, line.Quantity, now, cancellationToken);
                }

                var changes = await ReadChangesAsync(lines.Select(l => l.Sku).ToList(), cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                feed.Publish(changes);
                return new Release(reservationId, ReleasedNow: true);
            }

            var state = await db.Reservations
                .Where(r => r.ReservationId == reservationId)
                .Select(r => (ReservationState?)r.State)
                .SingleOrDefaultAsync(cancellationToken);
            if (state == ReservationState.Active)
            {
                // A ReserveStock with this id committed after the update above looked (PostgreSQL read committed):
                // go round again and release what it took, rather than answer "nothing held" and leave it held.
                await RollBackAsync(transaction);
                if (attempt >= MaxAttempts)
                {
                    throw new DbUpdateConcurrencyException($"Reservation {reservationId} kept changing while being released.");
                }

                continue;
            }

            if (state is null)
            {
                db.Reservations.Add(Reservation.Tombstone(reservationId, now));
                try
                {
                    await db.SaveChangesAsync(cancellationToken);
                }
                catch (DbUpdateException ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
                {
                    // A ReserveStock with this id committed meanwhile: release what it took.
                    await RollBackAsync(transaction);
                    continue;
                }
            }

            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
            return new Release(reservationId, ReleasedNow: false);
        }
    }

    private Task<Reservation?> FindReservationAsync(string reservationId, CancellationToken cancellationToken) =>
        db.Reservations.AsNoTracking().Include(r => r.Lines)
            .SingleOrDefaultAsync(r => r.ReservationId == reservationId, cancellationToken);

    /// <summary>
    /// Moves <paramref name="delta"/> units into available (positive) or out of it into reserved (negative),
    /// in one conditional statement: it changes nothing, and returns false, when available would go below zero.
    /// </summary>
    private async Task<bool> MoveStockAsync(string sku, int delta, DateTime now, CancellationToken cancellationToken)
    {
        var rows = await db.Items
            .Where(i => i.Sku == sku && i.Available + delta >= 0)
            .ExecuteUpdateAsync(set => set
                .SetProperty(i => i.Available, i => i.Available + delta)
                .SetProperty(i => i.Reserved, i => i.Reserved - delta)
                .SetProperty(i => i.Version, i => i.Version + 1)
                .SetProperty(i => i.UpdatedAt, now), cancellationToken);
        return rows == 1;
    }

    private async Task<List<StockChange>> ReadChangesAsync(List<string> skus, CancellationToken cancellationToken) =>
        await db.Items.AsNoTracking()
            .Where(i => skus.Contains(i.Sku))
            .OrderBy(i => i.Sku)
            .Select(i => new StockChange(i.Sku, i.Available, i.Reserved, i.Version, i.UpdatedAt))
            .ToListAsync(cancellationToken);

    private async Task RollBackAsync(Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction)
    {
        // Not cancellable: a half-finished rollback would leave the pooled connection inside a transaction.
        await transaction.RollbackAsync(CancellationToken.None);
        db.ChangeTracker.Clear();
    }

    // Microsecond precision, what PostgreSQL stores: a replayed reservation reports the same time as the first answer.
    private DateTime Now()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % 10), DateTimeKind.Utc);
    }
}
