using Contoso.Retail.Contracts.Inventory.V1;

using Google.Protobuf;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>inventory.v1.InventoryService answering from a <see cref="FailureScript"/>; the real contract, no database.</summary>
public sealed class ScriptedInventory(FailureScript script) : InventoryService.InventoryServiceBase
{
    public override async Task<GetItemResponse> GetItem(GetItemRequest request, ServerCallContext context)
    {
        await script.RunAsync(context);
        return new GetItemResponse { Item = new Item { Sku = request.Sku, Name = request.Sku, Available = 1 } };
    }

    public override async Task<ReserveStockResponse> ReserveStock(ReserveStockRequest request, ServerCallContext context)
    {
        await script.RunAsync(context);
        return new ReserveStockResponse();
    }

    public override async Task WatchStock(WatchStockRequest request, IServerStreamWriter<WatchStockResponse> responseStream, ServerCallContext context)
    {
        await script.RunAsync(context);
        await responseStream.WriteAsync(new WatchStockResponse(), context.CancellationToken);
    }
}

/// <summary>
/// A unary method no contract declares, so no proto marks it idempotent: what the retry policy must never
/// retry. Every unary method in the real contracts is marked, hence this stand-in.
/// </summary>
[BindServiceMethod(typeof(UnmarkedService), nameof(BindService))]
#pragma warning disable CA1852 // ASP.NET Core binds only virtual methods declared on the bound type, as on a generated base.
public class UnmarkedService(FailureScript script)
#pragma warning restore CA1852
{
    public static readonly Method<GetItemRequest, GetItemResponse> TouchMethod = new(
        MethodType.Unary, "test.v1.UnmarkedService", "Touch",
        Marshallers.Create(m => m.ToByteArray(), GetItemRequest.Parser.ParseFrom),
        Marshallers.Create(m => m.ToByteArray(), GetItemResponse.Parser.ParseFrom));

    // ASP.NET Core binds by method name ("Touch") on this type; the handler passed here is not used.
    public static void BindService(ServiceBinderBase binder, UnmarkedService? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(TouchMethod, service is null ? null : service.Touch);
    }

    public virtual async Task<GetItemResponse> Touch(GetItemRequest request, ServerCallContext context)
    {
        await script.RunAsync(context);
        return new GetItemResponse();
    }
}

/// <summary>Client for <see cref="UnmarkedService"/>, created by the gRPC client factory like any generated client.</summary>
public sealed class UnmarkedClient : ClientBase<UnmarkedClient>
{
    public UnmarkedClient(CallInvoker callInvoker)
        : base(callInvoker)
    {
    }

    private UnmarkedClient(ClientBaseConfiguration configuration)
        : base(configuration)
    {
    }

    public AsyncUnaryCall<GetItemResponse> TouchAsync(GetItemRequest request, CallOptions options = default) =>
        CallInvoker.AsyncUnaryCall(TouchMethod, null, options, request);

    protected override UnmarkedClient NewInstance(ClientBaseConfiguration configuration) => new(configuration);

    private static Method<GetItemRequest, GetItemResponse> TouchMethod => UnmarkedService.TouchMethod;
}
