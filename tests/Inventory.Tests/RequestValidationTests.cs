using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Grpc;
using Contoso.Retail.ServiceDefaults.Errors;
using Contoso.Retail.TestSupport;

using Grpc.Core;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>The contract's input rules, without a server: every bad field is named, good input passes.</summary>
public class RequestValidationTests
{
    [Theory]
    [InlineData("KB-001")]
    [InlineData("a")]
    [InlineData("abc.DEF_123-x")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")] // 64
    public void Valid_skus_are_accepted(string sku) => Assert.True(Sku.IsValid(sku));

    [Theory]
    [InlineData("")]
    [InlineData("KB 001")]
    [InlineData("KB/001")]
    [InlineData("clé")]
    [InlineData("KB-001\n")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")] // 65
    public void Invalid_skus_are_rejected(string sku) => Assert.False(Sku.IsValid(sku));

    /// <summary>Bad requests, each with the fields the client must be told about.</summary>
    public static TheoryData<string, Google.Protobuf.IMessage, string[]> BadRequests => new()
    {
        { "GetItem empty sku", new GetItemRequest { Sku = "" }, ["sku"] },
        { "GetItem bad sku", new GetItemRequest { Sku = "no spaces" }, ["sku"] },
        { "Upsert everything wrong", new UpsertItemRequest { Sku = new string('x', 65), Name = "", Available = -1 }, ["sku", "name", "available"] },
        { "Upsert long name", new UpsertItemRequest { Sku = "KB-001", Name = new string('n', 201), Available = 1 }, ["name"] },
        { "Reserve no id, no lines", new ReserveStockRequest(), ["reservation_id", "lines"] },
        { "Reserve long id", Reserve(new string('r', 129), ("KB-001", 1)), ["reservation_id"] },
        { "Reserve bad line quantity", Reserve("r1", ("KB-001", 1), ("MS-002", 0)), ["lines[1].quantity"] },
        { "Reserve negative quantity and bad sku", Reserve("r1", ("bad sku", -3)), ["lines[0].sku", "lines[0].quantity"] },
        { "Reserve duplicate sku", Reserve("r1", ("KB-001", 1), ("MS-002", 1), ("KB-001", 2)), ["lines[2].sku"] },
        { "Release empty id", new ReleaseReservationRequest { ReservationId = "" }, ["reservation_id"] },
        { "Release long id", new ReleaseReservationRequest { ReservationId = new string('r', 129) }, ["reservation_id"] },
        { "Watch bad sku", new WatchStockRequest { Skus = { "KB-001", "bad/sku" } }, ["skus[1]"] },
        { "List negative page size", new ListItemsRequest { PageSize = -1 }, ["page_size"] },
        { "List page size too big", new ListItemsRequest { PageSize = 1001 }, ["page_size"] },
        { "List forged page token", new ListItemsRequest { PageToken = "not-a-token" }, ["page_token"] },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_requests_name_every_bad_field(string because, Google.Protobuf.IMessage request, string[] fields)
    {
        var ex = RpcAssert.Throws(StatusCode.InvalidArgument, () => Validate(request));
        Assert.True(fields.SequenceEqual(ex.ViolatedFields()), $"{because}: got {string.Join(", ", ex.ViolatedFields())}");
    }

    [Fact]
    public void Good_requests_pass()
    {
        Validate(new GetItemRequest { Sku = "KB-001" });
        Validate(new UpsertItemRequest { Sku = "KB-001", Name = "Keyboard", Available = 0 });
        Validate(Reserve(new string('r', 128), ("KB-001", 1), ("MS-002", 1000)));
        Validate(new ReleaseReservationRequest { ReservationId = "order-1" });
        Validate(new WatchStockRequest());
        Validate(new ListItemsRequest { PageSize = 1000, PageToken = PageToken.Encode("KB-001") });
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 1)]
    [InlineData(1000, 1000)]
    public void Page_size_zero_means_the_default(int requested, int used) =>
        Assert.Equal(used, InventoryValidation.Validate(new ListItemsRequest { PageSize = requested }).PageSize);

    internal static ReserveStockRequest Reserve(string id, params (string Sku, int Quantity)[] lines)
    {
        var request = new ReserveStockRequest { ReservationId = id };
        request.Lines.AddRange(lines.Select(l => new ReservationLine { Sku = l.Sku, Quantity = l.Quantity }));
        return request;
    }

    private static void Validate(Google.Protobuf.IMessage request)
    {
        switch (request)
        {
            case GetItemRequest r: InventoryValidation.Validate(r); break;
            case UpsertItemRequest r: InventoryValidation.Validate(r); break;
            case ReserveStockRequest r: InventoryValidation.Validate(r); break;
            case ReleaseReservationRequest r: InventoryValidation.Validate(r); break;
            case WatchStockRequest r: InventoryValidation.Validate(r); break;
            case ListItemsRequest r: InventoryValidation.Validate(r); break;
            default: throw new ArgumentException($"No validation for {request.Descriptor.Name}", nameof(request));
        }
    }
}
