using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults.Interceptors;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

public class DefaultDeadlineInterceptorTests
{
    private static readonly Method<GetItemRequest, GetItemResponse> GetItem = new(
        MethodType.Unary, "inventory.v1.InventoryService", "GetItem",
        Marshallers.Create(r => [], _ => new GetItemRequest()),
        Marshallers.Create(r => [], _ => new GetItemResponse()));

    [Fact]
    public async Task A_call_without_a_deadline_gets_the_default()
    {
        var interceptor = new DefaultDeadlineInterceptor(TimeProvider.System, TimeSpan.FromHours(1));
        var before = DateTime.UtcNow;

        var seen = await DeadlineSeenByTheChannelAsync(interceptor, new CallOptions());

        Assert.NotNull(seen);
        Assert.InRange(seen.Value, before.AddHours(1), DateTime.UtcNow.AddHours(1));
    }

    [Fact]
    public async Task A_propagated_deadline_is_kept_even_when_later_than_the_default()
    {
        var interceptor = new DefaultDeadlineInterceptor(TimeProvider.System, TimeSpan.FromSeconds(1));
        var callers = DateTime.UtcNow.AddMinutes(10);

        Assert.Equal(callers, await DeadlineSeenByTheChannelAsync(interceptor, new CallOptions(deadline: callers)));
    }

    private static async Task<DateTime?> DeadlineSeenByTheChannelAsync(Interceptor interceptor, CallOptions options)
    {
        DateTime? seen = null;
        var call = interceptor.AsyncUnaryCall(
            new GetItemRequest(),
            new ClientInterceptorContext<GetItemRequest, GetItemResponse>(GetItem, null, options),
            (request, context) =>
            {
                seen = context.Options.Deadline;
                return new AsyncUnaryCall<GetItemResponse>(
                    Task.FromResult(new GetItemResponse()), Task.FromResult(new Metadata()),
                    () => Status.DefaultSuccess, () => [], () => { });
            });
        await call.ResponseAsync;
        return seen;
    }
}
