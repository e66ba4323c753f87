using Contoso.Retail.Contracts.Inventory.V1;

using Grpc.AspNetCore.Server;
using Grpc.Core;

using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.Grpc;

/// <summary>
/// ServiceDefaults maps every gRPC service's methods itself (to guard request parsing): each endpoint must still
/// carry what grpc-dotnet's own binder gives it - the class and method attributes, POST, the gRPC method.
/// </summary>
public sealed class UnparseableRequestsTests
{
    [Fact]
    public async Task Methods_are_mapped_once_with_their_attributes_and_a_guarded_request_marshaller()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddDefaultGrpc();
        await using var app = builder.Build();
        app.MapDefaultGrpcEndpoints();
        app.MapGrpcService<AttributedInventory>();

        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).ToList();
        var getItem = Assert.Single(endpoints, e => e.DisplayName == "gRPC - /inventory.v1.InventoryService/GetItem");
        var upsert = Assert.Single(endpoints, e => e.DisplayName == "gRPC - /inventory.v1.InventoryService/UpsertItem");

        Assert.Equal(["Items", "items.admin"], getItem.Metadata.GetOrderedMetadata<AuthorizeAttribute>().Select(a => a.Policy));
        Assert.Equal(["Items"], upsert.Metadata.GetOrderedMetadata<AuthorizeAttribute>().Select(a => a.Policy));
        Assert.Equal(["POST"], getItem.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods);
        var method = (Method<GetItemRequest, GetItemResponse>)getItem.Metadata.GetMetadata<GrpcMethodMetadata>()!.Method;
        var ex = Assert.ThrowsAny<RpcException>(() => method.RequestMarshaller.ContextualDeserializer(new Payload([0x0A, 0x7F, 0x01])));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("The request message for /inventory.v1.InventoryService/GetItem could not be parsed.", ex.Status.Detail);
    }

    [Fact]
    public void AddGrpc_called_again_after_the_defaults_fails_start_up_instead_of_mapping_every_method_twice()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddDefaultGrpc();
        builder.Services.AddGrpc();
        using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.MapDefaultGrpcEndpoints());

        Assert.Contains("AddGrpc() was called after AddServiceDefaults()", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Request bytes as grpc-dotnet hands them to a deserializer.</summary>
    private sealed class Payload(byte[] bytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => [.. bytes];

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
    }

    [Authorize(Policy = "Items")]
    private sealed class AttributedInventory : InventoryService.InventoryServiceBase
    {
        [Authorize(Policy = "items.admin")]
        public override Task<GetItemResponse> GetItem(GetItemRequest request, ServerCallContext context) =>
            Task.FromResult(new GetItemResponse());

        public override Task<UpsertItemResponse> UpsertItem(UpsertItemRequest request, ServerCallContext context) =>
            Task.FromResult(new UpsertItemResponse());
    }
}
