using Contoso.Retail.Inventory.Data;
using Contoso.Retail.ServiceDefaults.Data;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Model;

/// <summary>The outcome of releasing a reservation.</summary>
public sealed record Release(string ReservationId, bool ReleasedNow);

/// <summary>
/// Every write to stock, each a unit of the database's <see cref="GroupCommit{TContext}"/> (so concurrent writes share
/// one commit) whose changes are published to the <see cref="StockChangeFeed"/> only after it commits.
/// </summary>
public sealed class Warehouse(GroupCommit<InventoryDbContext> writes, StockChangeFeed feed, TimeProvider time, InventoryMetrics metrics)
{
    // A unique violation means a concurrent call got there first; one more attempt sees its row.
    private const int MaxAttempts = 3;

    /// <summary>Creates the item or sets its name and available quantity; reserved stock is left alone.</summary>
    public async Task<(Item Item, bool Created)> UpsertItemAsync(string sku, string name, int available, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var now = Now();
                var (item, created) = await writes.RunAsync(db => UpsertAsync(db, sku, name, available, now), cancellationToken);
                feed.Publish([StockChange.Of(item)]);
                return (item, created);
            }
            catch (DbUpdateException ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
            {
            }
        }
    }

    /// <summary>
    /// Takes stock for every line or for none. The reservation row is inserted first: its primary key
    /// is the idempotency key, so a concurrent duplicate collides on it and is answered from the stored row.
    /// Each line is a conditional update that only succeeds while enough stock is available, so stock
    /// is never oversold, whatever runs at the same time.
    /// </summary>
    /// <exception cref="RpcException">
    /// FAILED_PRECONDITION when stock is short or the id was released; ALREADY_EXISTS when the id holds other lines.
    /// </exception>
    public async Task<Reservation> ReserveAsync(string reservationId, IReadOnlyCollection<StockLine> lines, CancellationToken cancellationToken)
    {
        var (reservation, changes) = await ReserveOnceAsync(reservationId, lines, cancellationToken);
        if (changes is null)
        {
            metrics.Replayed();
            return ReservationRules.Replay(reservation, lines);
        }

        feed.Publish(changes);
        metrics.Reserved(reservation.Lines.Sum(l => (long)l.Quantity));
        return reservation;
    }

    private async Task<(Reservation Reservation, List<StockChange>? Changes)> ReserveOnceAsync(
        string reservationId, IReadOnlyCollection<StockLine> lines, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var now = Now();
                return await writes.RunAsync(db => ReserveAsync(db, reservationId, lines, now), cancellationToken);
            }
            catch (DbUpdateException ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
            {
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                metrics.Rejected();
                throw;
            }
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
            try
            {
                var now = Now();
                var (releasedNow, changes) = await writes.RunAsync(db => ReleaseAsync(db, reservationId, now), cancellationToken);
                if (changes is not null)
                {
                    feed.Publish(changes);
                }

                return new Release(reservationId, releasedNow);
            }
            catch (Exception ex) when (attempt < MaxAttempts && (ex is DbUpdateConcurrencyException
                || (ex is DbUpdateException update && update.IsUniqueViolation())))
            {
                // A ReserveStock with this id committed meanwhile: go round again and release what it took.
            }
        }
    }

    private static async Task<(Item Item, bool Created)> UpsertAsync(InventoryDbContext db, string sku, string name, int available, DateTime now)
    {
        var updated = await db.Items.Where(i => i.Sku == sku).ExecuteUpdateAsync(set => set
            .SetProperty(i => i.Name, name)
            .SetProperty(i => i.Available, available)
            .SetProperty(i => i.Version, i => i.Version + 1)
            .SetProperty(i => i.UpdatedAt, now));

        var created = updated == 0;
        if (created)
        {
            db.Items.Add(new Item { Sku = sku, Name = name, Available = available, Version = 1, UpdatedAt = now });
            await db.SaveChangesAsync();
        }

        var item = await db.Items.AsNoTracking().SingleAsync(i => i.Sku == sku);
        return (item, created);
    }

    /// <summary>The reservation, and the stock changes it made; no changes when the id was already stored (a replay).</summary>
    private static async Task<(Reservation Reservation, List<StockChange>? Changes)> ReserveAsync(
        InventoryDbContext db, string reservationId, IReadOnlyCollection<StockLine> lines, DateTime now)
    {
        // Retries are the common duplicate; answering them without a failed insert keeps the logs clean.
        var existing = await FindReservationAsync(db, reservationId);
        if (existing is not null)
        {
            return (existing, null);
        }

        var reservation = Reservation.Create(reservationId, lines, now);
        db.Reservations.Add(reservation);
        await db.SaveChangesAsync();

        var shortLines = new List<StockLine>();
        foreach (var line in reservation.StockLines())
        {
            if (!await MoveStockAsync(db, line.Sku, -line.Quantity, reservation.CreatedAt))
            {
                shortLines.Add(line);
            }
        }

        var skus = reservation.Lines.Select(l => l.Sku).ToList();
        if (shortLines.Count > 0)
        {
            // Thrown, so the group commit rolls this unit back.
            var available = await db.Items.AsNoTracking()
                .Where(i => skus.Contains(i.Sku))
                .ToDictionaryAsync(i => i.Sku, i => i.Available);
            throw ReservationRules.Shortage(shortLines, available);
        }

        return (reservation, await ReadChangesAsync(db, skus));
    }

    private static async Task<(bool ReleasedNow, List<StockChange>? Changes)> ReleaseAsync(InventoryDbContext db, string reservationId, DateTime now)
    {
        var released = await db.Reservations
            .Where(r => r.ReservationId == reservationId && r.State == ReservationState.Active)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.State, ReservationState.Released)
                .SetProperty(r => r.ReleasedAt, now));

        if (released == 1)
        {
            var lines = await db.ReservationLines.AsNoTracking()
                .Where(l => l.ReservationId == reservationId)
                .OrderBy(l => l.Sku)
                .ToListAsync();
            foreach (var line in lines)
            {
                await MoveStockAsync(db, line.Sku, line.Quantity, now);
            }

            return (true, await ReadChangesAsync(db, lines.Select(l => l.Sku).ToList()));
        }

        var state = await db.Reservations
            .Where(r => r.ReservationId == reservationId)
            .Select(r => (ReservationState?)r.State)
            .SingleOrDefaultAsync();
        if (state == ReservationState.Active)
        {
            // A ReserveStock with this id committed after the update above looked (PostgreSQL read committed):
            // the caller goes round again and releases what it took, rather than answer "nothing held".
            throw new DbUpdateConcurrencyException($"Reservation {reservationId} kept changing while being released.");
        }

        if (state is null)
        {
            db.Reservations.Add(Reservation.Tombstone(reservationId, now));
            await db.SaveChangesAsync();
        }

        return (false, null);
    }

    private static Task<Reservation?> FindReservationAsync(InventoryDbContext db, string reservationId) =>
        db.Reservations.AsNoTracking().Include(r => r.Lines)
            .SingleOrDefaultAsync(r => r.ReservationId == reservationId);

    /// <summary>
    /// Moves <paramref name="delta"/> units into available (positive) or out of it into reserved (negative),
    /// in one conditional statement: it changes nothing, and returns false, when available would go below zero.
    /// </summary>
    private static async Task<bool> MoveStockAsync(InventoryDbContext db, string sku, int delta, DateTime now)
    {
        var rows = await db.Items
            .Where(i => i.Sku == sku && i.Available + delta >= 0)
            .ExecuteUpdateAsync(set => set
                .SetProperty(i => i.Available, i => i.Available + delta)
                .SetProperty(i => i.Reserved, i => i.Reserved - delta)
                .SetProperty(i => i.Version, i => i.Version + 1)
                .SetProperty(i => i.UpdatedAt, now));
        return rows == 1;
    }

    private static async Task<List<StockChange>> ReadChangesAsync(InventoryDbContext db, List<string> skus) =>
        await db.Items.AsNoTracking()
            .Where(i => skus.Contains(i.Sku))
            .OrderBy(i => i.Sku)
            .Select(i => new StockChange(i.Sku, i.Available, i.Reserved, i.Version, i.UpdatedAt))
            .ToListAsync();

    // Microsecond precision, what PostgreSQL stores: a replayed reservation reports the same time as the first answer.
    private DateTime Now()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % 10), DateTimeKind.Utc);
    }
}
