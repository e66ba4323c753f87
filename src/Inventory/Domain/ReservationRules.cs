using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Errors;

using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.Inventory.Domain;

/// <summary>What a reservation request means given what is already stored: the rules, without the database.</summary>
public static class ReservationRules
{
    public const string ReservationResource = "inventory.v1.Reservation";
    public const string InsufficientStock = "INSUFFICIENT_STOCK";
    public const string UnknownSku = "UNKNOWN_SKU";
    public const string ReservationReleased = "RESERVATION_RELEASED";

    /// <summary>
    /// Answers a ReserveStock whose id is already stored: the same lines get the stored reservation back
    /// (a retry must not take stock twice); different lines are ALREADY_EXISTS; a released id is FAILED_PRECONDITION.
    /// </summary>
    /// <exception cref="RpcException">When the request may not be answered with <paramref name="existing"/>.</exception>
    public static Reservation Replay(Reservation existing, IEnumerable<StockLine> requested)
    {
        if (existing.State == ReservationState.Released)
        {
            throw RpcErrors.FailedPrecondition(
                $"Reservation '{existing.ReservationId}' was released; reserve again with a new reservation_id.",
                [new PreconditionFailure.Types.Violation
                {
                    Type = ReservationReleased,
                    Subject = existing.ReservationId,
                    Description = "the reservation was released",
                }]);
        }

        if (!SameLines(existing.StockLines(), requested))
        {
            throw RpcErrors.AlreadyExists(ReservationResource, existing.ReservationId,
                $"Reservation '{existing.ReservationId}' already exists with different lines.");
        }

        return existing;
    }

    /// <summary>Lines are the same when they hold the same quantity of the same SKUs, in any order.</summary>
    public static bool SameLines(IEnumerable<StockLine> stored, IEnumerable<StockLine> requested) =>
        stored.ToHashSet().SetEquals(requested);

    /// <summary>
    /// FAILED_PRECONDITION naming every SKU that could not be reserved.
    /// </summary>
    /// <param name="available">Current available stock by SKU; a SKU missing from it is unknown.</param>
    public static RpcException Shortage(IEnumerable<StockLine> shortLines, IReadOnlyDictionary<string, int> available)
    {
        var violations = shortLines.Select(line => available.TryGetValue(line.Sku, out var units)
            ? new PreconditionFailure.Types.Violation
            {
                Type = InsufficientStock,
                Subject = line.Sku,
                Description = $"requested {line.Quantity}, available {units}",
            }
            : new PreconditionFailure.Types.Violation
            {
                Type = UnknownSku,
                Subject = line.Sku,
                Description = $"requested {line.Quantity}, no item has this SKU",
            }).ToList();

        var skus = string.Join(", ", violations.Select(v => v.Subject));
        return RpcErrors.FailedPrecondition($"Not enough stock for: {skus}.", violations);
    }
}
