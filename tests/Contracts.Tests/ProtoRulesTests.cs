using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Options.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf.Reflection;

namespace Contoso.Retail.Contracts.Tests;

/// <summary>
/// Rules every contract keeps, checked on the compiled descriptors: what the auth interceptor and the
/// retry policy read from the protos must be there, for every method of every service.
/// </summary>
public class ProtoRulesTests
{
    public static TheoryData<string> Methods()
    {
        var data = new TheoryData<string>();
        foreach (var method in AllServices.SelectMany(s => s.Methods))
        {
            data.Add(method.FullName);
        }

        return data;
    }

    private static readonly ServiceDescriptor[] AllServices =
    [
        InventoryService.Descriptor,
        OrderService.Descriptor,
        //#if (IncludeTelemetry)
        TelemetryIngestService.Descriptor,
        //#endif
    ];

    private static MethodDescriptor Method(string fullName) =>
        AllServices.SelectMany(s => s.Methods).Single(m => m.FullName == fullName);

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_declares_the_scope_it_requires(string fullName)
    {
        var method = Method(fullName);
        var scope = method.GetOptions()?.GetExtension(OptionsExtensions.RequiredScope);

        Assert.False(string.IsNullOrEmpty(scope), $"{fullName} has no (options.v1.required_scope)");
        var area = method.Service.File.Package.Split('.')[0];
        Assert.StartsWith(area + ".", scope, StringComparison.Ordinal);
    }

    // The retry policy retries only these; pinning them makes a change to the list a deliberate one.
    [Theory]
    [InlineData("inventory.v1.InventoryService.GetItem", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    [InlineData("inventory.v1.InventoryService.ListItems", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    [InlineData("inventory.v1.InventoryService.WatchStock", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    [InlineData("inventory.v1.InventoryService.UpsertItem", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    [InlineData("inventory.v1.InventoryService.ReserveStock", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    [InlineData("inventory.v1.InventoryService.ReleaseReservation", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    [InlineData("orders.v1.OrderService.PlaceOrder", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    [InlineData("orders.v1.OrderService.GetOrder", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    [InlineData("orders.v1.OrderService.ListOrders", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    [InlineData("orders.v1.OrderService.CancelOrder", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    //#if (IncludeTelemetry)
    [InlineData("telemetry.v1.TelemetryIngestService.Ingest", MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown)]
    [InlineData("telemetry.v1.TelemetryIngestService.StreamIngest", MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown)]
    [InlineData("telemetry.v1.TelemetryIngestService.IngestBatch", MethodOptions.Types.IdempotencyLevel.Idempotent)]
    [InlineData("telemetry.v1.TelemetryIngestService.Query", MethodOptions.Types.IdempotencyLevel.NoSideEffects)]
    //#endif
    public void Method_declares_its_idempotency(string fullName, MethodOptions.Types.IdempotencyLevel expected)
    {
        var level = Method(fullName).GetOptions()?.IdempotencyLevel ?? MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown;
        Assert.Equal(expected, level);
    }

    [Fact]
    public void Every_method_is_pinned_by_the_idempotency_test()
    {
        var pinned = typeof(ProtoRulesTests).GetMethod(nameof(Method_declares_its_idempotency))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false)
            .Cast<InlineDataAttribute>()
            .Select(a => (string)a.Data[0]!)
            .ToHashSet();

        Assert.Equal(AllServices.SelectMany(s => s.Methods).Select(m => m.FullName).Order(), pinned.Order());
    }
}
