using Contoso.Retail.Inventory.Domain;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>How a repeated reservation id and a shortage are answered, without a database.</summary>
public class ReservationRulesTests
{
    private static readonly DateTime Now = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    [Fact]
    public void Replay_with_the_same_lines_in_any_order_returns_the_stored_reservation()
    {
        var stored = Reservation.Create("order-1", [new("KB-001", 2), new("MS-002", 1)], Now);

        var answer = ReservationRules.Replay(stored, [new("MS-002", 1), new("KB-001", 2)]);

        Assert.Same(stored, answer);
    }

    [Theory]
    [InlineData("KB-001", 3)] // other quantity
    [InlineData("DK-006", 2)] // other SKU
    public void Replay_with_different_lines_is_already_exists(string sku, int quantity)
    {
        var stored = Reservation.Create("order-1", [new("KB-001", 2), new("MS-002", 1)], Now);

        var ex = RpcAssert.Throws(StatusCode.AlreadyExists,
            () => ReservationRules.Replay(stored, [new(sku, quantity), new("MS-002", 1)]));
        Assert.Contains("order-1", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_with_fewer_lines_is_already_exists() =>
        RpcAssert.Throws(StatusCode.AlreadyExists,
            () => ReservationRules.Replay(Reservation.Create("order-1", [new("KB-001", 2), new("MS-002", 1)], Now), [new("KB-001", 2)]));

    [Fact]
    public void Replay_of_a_released_reservation_is_failed_precondition()
    {
        var stored = Reservation.Create("order-1", [new("KB-001", 2)], Now);
        stored.State = ReservationState.Released;

        var ex = RpcAssert.Throws(StatusCode.FailedPrecondition, () => ReservationRules.Replay(stored, [new("KB-001", 2)]));

        var violation = Assert.Single(ex.PreconditionViolations());
        Assert.Equal((ReservationRules.ReservationReleased, "order-1"), (violation.Type, violation.Subject));
    }

    [Fact]
    public void A_tombstone_refuses_any_reservation() =>
        RpcAssert.Throws(StatusCode.FailedPrecondition,
            () => ReservationRules.Replay(Reservation.Tombstone("order-1", Now), [new("KB-001", 1)]));

    [Fact]
    public void Shortage_names_each_short_and_each_unknown_sku()
    {
        var ex = ReservationRules.Shortage(
            [new("DK-006", 5), new("NOPE-1", 1)],
            new Dictionary<string, int> { ["DK-006"] = 2, ["KB-001"] = 50 });

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        var violations = ex.PreconditionViolations();
        Assert.Collection(violations,
            v => Assert.Equal((ReservationRules.InsufficientStock, "DK-006", "requested 5, available 2"), (v.Type, v.Subject, v.Description)),
            v => Assert.Equal((ReservationRules.UnknownSku, "NOPE-1"), (v.Type, v.Subject)));
    }

    [Fact]
    public void A_new_reservation_is_active_with_its_lines_in_sku_order()
    {
        var reservation = Reservation.Create("order-1", [new("MS-002", 1), new("KB-001", 2)], Now);

        Assert.Equal(ReservationState.Active, reservation.State);
        Assert.Equal([new("KB-001", 2), new("MS-002", 1)], reservation.StockLines());
    }
}
