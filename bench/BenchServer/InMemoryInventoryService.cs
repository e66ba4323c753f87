using System.Collections.Frozen;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Data;
using Contoso.Retail.Inventory.Grpc;
using Contoso.Retail.ServiceDefaults.Errors;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;

namespace Contoso.Retail.BenchServer;

/// <summary>
/// GetItem from a dictionary of the sample items: the same validation and response as Inventory's GetItem
/// without the database, so .NET can be compared with the peer servers (which also serve from memory).
/// </summary>
public sealed class InMemoryInventoryService : InventoryService.InventoryServiceBase
{
    private static readonly DateTime Seeded = DateTime.UtcNow;

    private static readonly FrozenDictionary<string, Item> Items = SampleData.Items.ToFrozenDictionary(
        item => item.Sku,
        item => new Item { Sku = item.Sku, Name = item.Name, Available = item.Available, UpdatedAt = Timestamp.FromDateTime(Seeded) },
        StringComparer.Ordinal);

    public override Task<GetItemResponse> GetItem(GetItemRequest request, ServerCallContext context)
    {
        InventoryValidation.Validate(request);
        return Items.TryGetValue(request.Sku, out var item)
            ? Task.FromResult(new GetItemResponse { Item = item.Clone() })
            : throw RpcErrors.NotFound("inventory.v1.Item", request.Sku);
    }
}
