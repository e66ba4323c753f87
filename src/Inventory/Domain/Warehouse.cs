using System.Globalization;
using System.Text;

using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Data;

using Grpc.Core;

using Microsoft.EntityFrameworkCore;

namespace Contoso.Retail.Inventory.Domain;

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
                var now = time.UtcNowForStorage();
                var (item, created) = await writes.RunAsync(db => UpsertAsync(db, sku, name, available, now), cancellationToken);
                feed.Publish([StockChange.Of(item)]);
                return (item, created);
            }
            catch (Exception ex) when (ex.IsUniqueViolation() && attempt < MaxAttempts)
            {
            }
        }
    }

    /// <summary>
    /// Takes stock for every line or none. The reservation row goes first (its key is the idempotency key, so a duplicate
    /// collides and is answered from it); each line is a conditional update, so stock is never oversold.
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
        try
        {
            var now = time.UtcNowForStorage();
            return await writes.RunAsync(db => ReserveAsync(db, reservationId, lines, now), cancellationToken);
        }
        catch (AlreadyStored)
        {
            // A retry (the common duplicate) or a concurrent call that got there first: answered from what is stored.
            var stored = await writes.RunAsync(db => FindReservationAsync(db, reservationId), cancellationToken)
                ?? throw new InvalidOperationException($"Reservation {reservationId} collided but cannot be read.");
            return (stored, null);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            metrics.Rejected();
            throw;
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
                var now = time.UtcNowForStorage();
                var (releasedNow, changes) = await writes.RunAsync(db => ReleaseAsync(db, reservationId, now), cancellationToken);
                if (changes is not null)
                {
                    feed.Publish(changes);
                }

                return new Release(reservationId, releasedNow);
            }
            catch (Exception ex) when (attempt < MaxAttempts && (ex is DbUpdateConcurrencyException || ex.IsUniqueViolation()))
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

    /// <summary>
    /// The reservation and the stock changes it made, in one command (one round trip): the reservation row, whose key is
    /// the idempotency key; its lines; and one conditional stock move per line, in SKU order so that concurrent
    /// reservations lock their items in the same order. The outcome is checked once it has run, and anything but
    /// "all taken" throws, which rolls the unit back: <see cref="AlreadyStored"/> when the id is stored (the rest of the
    /// command then changed nothing that stays), the shortage when a line could not be taken.
    /// </summary>
    private static async Task<(Reservation Reservation, List<StockChange> Changes)> ReserveAsync(
        InventoryDbContext db, string reservationId, IReadOnlyCollection<StockLine> lines, DateTime now)
    {
        var reservation = Reservation.Create(reservationId, lines, now);
        var stockLines = reservation.StockLines().ToList();
        var changes = new List<StockChange>(stockLines.Count);
        var shortLines = new List<StockLine>();
        bool inserted;
        await using (var reserve = db.Sql("").With("@id", reservationId).With("@state", nameof(ReservationState.Active)).With("@now", now))
        {
            var sql = new StringBuilder("""
                INSERT INTO reservations (reservation_id, state, created_at) VALUES (@id, @state, @now)
                ON CONFLICT DO NOTHING RETURNING reservation_id;
                INSERT INTO reservation_lines (reservation_id, sku, quantity)
                """);
            sql.Append(" VALUES ").Append(reserve.ValuesList(reservation.Lines, static line => [line.Sku, line.Quantity], "@id")).AppendLine(" ON CONFLICT DO NOTHING;");
            for (var i = 0; i < stockLines.Count; i++)
            {
                reserve.With($"@sku{i}", stockLines[i].Sku).With($"@take{i}", stockLines[i].Quantity);
                sql.Append(CultureInfo.InvariantCulture, $"""
                    UPDATE items SET available = available - @take{i}, reserved = reserved + @take{i}, version = version + 1, updated_at = @now
                    WHERE sku = @sku{i} AND available - @take{i} >= 0
                    RETURNING sku, available, reserved, version, updated_at;
                    """).AppendLine();
            }

            reserve.CommandText = sql.ToString();
            await using var rows = await reserve.ExecuteReaderAsync();
            inserted = await rows.ReadAsync();
            foreach (var line in stockLines)
            {
                await rows.NextResultAsync();
                if (await rows.ReadAsync())
                {
                    changes.Add(ReadChange(rows));
                }
                else
                {
                    shortLines.Add(line);
                }
            }
        }

        if (!inserted)
        {
            throw new AlreadyStored();
        }

        if (shortLines.Count > 0)
        {
            var available = (await ReadChangesAsync(db, [.. reservation.Lines.Select(l => l.Sku)])).ToDictionary(c => c.Sku, c => c.Available);
            throw ReservationRules.Shortage(shortLines, available);
        }

        return (reservation, changes);
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
            var changes = new List<StockChange>(lines.Count);
            foreach (var line in lines)
            {
                if (await MoveStockAsync(db, line.Sku, line.Quantity, now) is { } change)
                {
                    changes.Add(change);
                }
            }

            return (true, changes);
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

    private static async Task<Reservation?> FindReservationAsync(InventoryDbContext db, string reservationId)
    {
        Reservation reservation;
        await using (var find = db.Sql("SELECT state, created_at, released_at FROM reservations WHERE reservation_id = @id")
            .With("@id", reservationId))
        {
            await using var row = await find.ExecuteReaderAsync();
            if (!await row.ReadAsync())
            {
                return null;
            }

            reservation = new Reservation
            {
                ReservationId = reservationId,
                State = Enum.Parse<ReservationState>(row.GetString(0)),
                CreatedAt = StorageTime.AsUtc(row.GetDateTime(1)),
                ReleasedAt = row.IsDBNull(2) ? null : StorageTime.AsUtc(row.GetDateTime(2)),
            };
        }

        await using var lines = db.Sql("SELECT sku, quantity FROM reservation_lines WHERE reservation_id = @id").With("@id", reservationId);
        await using var reader = await lines.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            reservation.Lines.Add(new ReservationLine { ReservationId = reservationId, Sku = reader.GetString(0), Quantity = reader.GetInt32(1) });
        }

        return reservation;
    }

    /// <summary>
    /// Moves <paramref name="delta"/> units into available (positive) or out of it into reserved (negative), in one
    /// conditional statement that returns the item as it now stands: it changes nothing, and returns null, when available
    /// would go below zero.
    /// </summary>
    private static async Task<StockChange?> MoveStockAsync(InventoryDbContext db, string sku, int delta, DateTime now)
    {
        await using var move = db.Sql("""
            UPDATE items SET available = available + @delta, reserved = reserved - @delta, version = version + 1, updated_at = @now
            WHERE sku = @sku AND available + @delta >= 0
            RETURNING sku, available, reserved, version, updated_at
            """).With("@delta", delta).With("@now", now).With("@sku", sku);
        await using var row = await move.ExecuteReaderAsync();
        return await row.ReadAsync() ? ReadChange(row) : null;
    }

    /// <summary>The reservation id is already stored: the unit is rolled back and the call answered from what is stored.</summary>
    private sealed class AlreadyStored : Exception;

    private static StockChange ReadChange(System.Data.Common.DbDataReader row) =>
        new(row.GetString(0), row.GetInt32(1), row.GetInt32(2), row.GetInt64(3), StorageTime.AsUtc(row.GetDateTime(4)));

    private static async Task<List<StockChange>> ReadChangesAsync(InventoryDbContext db, List<string> skus)
    {
        await using var read = db.Sql("");
        read.CommandText = $"SELECT sku, available, reserved, version, updated_at FROM items WHERE sku IN ({read.InList(skus)}) ORDER BY sku";
        await using var row = await read.ExecuteReaderAsync();
        var changes = new List<StockChange>(skus.Count);
        while (await row.ReadAsync())
        {
            changes.Add(ReadChange(row));
        }

        return changes;
    }
}
