using Contoso.Retail.ServiceDefaults.Interceptors;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults.Tests.Resilience;

/// <summary>The pure decisions of the retry policy: what the contract allows, and how long to wait.</summary>
public class RetryPolicyTests
{
    private static readonly GrpcRetryOptions Retry = new() { BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(2) };

    [Theory]
    [InlineData("/inventory.v1.InventoryService/GetItem", true)]
    [InlineData("/inventory.v1.InventoryService/ReserveStock", true)]
    [InlineData("/inventory.v1.InventoryService/ReleaseReservation", true)]
    [InlineData("/orders.v1.OrderService/PlaceOrder", true)]
    //#if (IncludeTelemetry)
    [InlineData("/telemetry.v1.TelemetryIngestService/Ingest", false)]
    [InlineData("/telemetry.v1.TelemetryIngestService/StreamIngest", false)]
    //#endif
    [InlineData("/test.v1.UnmarkedService/Touch", false)]
    public void Only_methods_the_proto_marks_idempotent_or_side_effect_free_are_safe_to_retry(string path, bool safe) =>
        Assert.Equal(safe, RetryClientInterceptor.IsSafeToRetry(path));

    [Theory]
    [InlineData(0, 50, 100)]
    [InlineData(1, 100, 200)]
    [InlineData(3, 400, 800)]
    [InlineData(10, 1000, 2000)]
    [InlineData(100, 1000, 2000)]
    public void Unavailable_waits_a_jittered_exponential_backoff_capped_at_max_delay(int attempt, int atLeastMs, int atMostMs)
    {
        for (var i = 0; i < 100; i++)
        {
            var delay = RetryClientInterceptor.RetryDelay(Failure(StatusCode.Unavailable), attempt, Retry);

            Assert.NotNull(delay);
            Assert.InRange(delay.Value, TimeSpan.FromMilliseconds(atLeastMs), TimeSpan.FromMilliseconds(atMostMs));
        }
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, "0", 0)]
    [InlineData(StatusCode.Unavailable, "5000", 5000)]
    [InlineData(StatusCode.ResourceExhausted, "250", 250)]
    public void Pushback_is_waited_exactly_even_beyond_max_delay(StatusCode code, string pushback, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryClientInterceptor.RetryDelay(Failure(code, pushback), 0, Retry));

    [Theory]
    [InlineData(StatusCode.Unavailable, "-1")]
    [InlineData(StatusCode.Unavailable, "1.5")]
    [InlineData(StatusCode.Unavailable, " 5")]
    [InlineData(StatusCode.ResourceExhausted, null)]
    [InlineData(StatusCode.InvalidArgument, "10")]
    [InlineData(StatusCode.DeadlineExceeded, null)]
    [InlineData(StatusCode.Cancelled, null)]
    public void No_retry_for_bad_pushback_unexplained_exhaustion_or_any_other_code(StatusCode code, string? pushback) =>
        Assert.Null(RetryClientInterceptor.RetryDelay(Failure(code, pushback), 0, Retry));

    private static RpcException Failure(StatusCode code, string? pushback = null)
    {
        var trailers = new Metadata();
        if (pushback is not null)
        {
            trailers.Add(RetryClientInterceptor.PushbackTrailer, pushback);
        }

        return new RpcException(new Status(code, "test"), trailers);
    }
}
