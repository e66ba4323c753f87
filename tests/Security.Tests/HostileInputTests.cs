using Contoso.Retail.Contracts;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

using Grpc.Core;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Hostile input on every method of every service, enumerated from the compiled descriptors: oversized messages,
/// broken field rules, malformed protobuf, unknown methods. Each answer is a proper gRPC status and the services
/// keep serving.
/// </summary>
public class HostileInputTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Fact]
    public void Every_contract_method_has_hostile_input_samples()
    {
        var declared = ContractMethods.All.Select(ContractMethods.Path).Order(StringComparer.Ordinal).ToList();

        Assert.NotEmpty(declared);
        Assert.Equal(declared, MethodSamples.ByPath.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task A_message_one_byte_over_Grpc_MaxMessageSize_is_RESOURCE_EXHAUSTED(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        var oversized = Payloads.UnknownField(ServiceDefaults.GrpcServer.DefaultMaxMessageSize);

        var code = await RawGrpc.CallAsync(host.Channel, RawGrpc.Method(method), [oversized], cancellationToken: Ct);
        SecurityFigures.Tally("hostile.oversized", path, code);

        Assert.True(oversized.Length > ServiceDefaults.GrpcServer.DefaultMaxMessageSize);
        Assert.Equal(StatusCode.ResourceExhausted, code);
        Assert.True(await System.AllServingAsync());
    }

    [Theory]
    [MemberData(nameof(ClientStreamPaths))]
    public async Task A_stream_refused_at_its_first_message_answers_while_the_client_is_still_writing_a_large_one(string path)
    {
        // The service refuses the first message; the client is then writing ~3.5 MB that the service will never read, so
        // that write waits for flow-control credit. The refusal must still reach the caller, well inside the deadline.
        var method = RawGrpc.Descriptor(path);
        var sample = MethodSamples.ByPath[path];
        var large = Payloads.UnknownField(GrpcServer.DefaultMaxMessageSize - 512 * 1024);
        using var channel = System.HostOf(method).CreateChannel(System.HostOf(method).Token);

        var (code, detail) = await RawGrpc.CallWithDetailAsync(
            channel, RawGrpc.Method(method), [sample.Invalid[0].ToByteArray(), large, large], DateTime.UtcNow.AddSeconds(15), cancellationToken: Ct);

        Assert.True(code == StatusCode.InvalidArgument, $"{code} \"{detail}\"");
    }

    public static TheoryData<string> ClientStreamPaths() =>
        [.. ContractMethods.All.Where(m => m.IsClientStreaming).Select(ContractMethods.Path).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task A_request_breaking_a_field_rule_is_INVALID_ARGUMENT_with_BadRequest_naming_the_field(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var sample = MethodSamples.ByPath[path];

        var ex = await RawGrpc.CallForErrorAsync(
            System.HostOf(method).Channel, method, [.. sample.Invalid.Select(m => m.ToByteArray())], cancellationToken: Ct);
        SecurityFigures.Tally("hostile.invalid-field", path, ex?.StatusCode ?? StatusCode.OK);

        Assert.NotNull(ex);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(sample.InvalidField, ex.ViolatedFields());
    }

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task Malformed_truncated_deeply_nested_and_random_bytes_get_a_proper_status_and_never_hang(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var sample = MethodSamples.ByPath[path];
        var host = System.HostOf(method);
        var raw = RawGrpc.Method(method);
        var wrong = new List<string>();

        foreach (var (name, bytes) in Payloads.Malformed(sample.Valid[0], seed: path.Length))
        {
            // A streaming method gets the bad message after a good one too: mid-stream garbage must end the call cleanly.
            IReadOnlyList<byte[]> messages = method.IsClientStreaming ? [sample.Valid[0].ToByteArray(), bytes] : [bytes];
            var code = await RawGrpc.CallAsync(host.Channel, raw, messages, cancellationToken: Ct);
            var allowed = RequestBytes.Parses(method, bytes) ? sample.Outcomes : RequestBytes.Unparseable(method);
            SecurityFigures.Tally("hostile.malformed", path, code);
            if (!allowed.Contains(code))
            {
                wrong.Add($"{name}: {code} (allowed {string.Join(", ", allowed)})");
            }
        }

        Assert.Empty(wrong);
        Assert.True(await System.AllServingAsync());
    }

    [Theory]
    [InlineData("inventory.v1.InventoryService", "NoSuchMethod")]
    [InlineData("orders.v1.OrderService", "GetItem")]
    [InlineData("no.such.v1.Service", "Get")]
    [InlineData("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo")]
    [InlineData("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo")]
    public async Task Unknown_services_and_methods_are_UNIMPLEMENTED_on_every_service_with_or_without_a_token(string service, string name)
    {
        var method = RawGrpc.Method(MethodType.Unary, service, name);
        foreach (var host in System.Hosts)
        {
            using var anonymous = host.CreateChannel(token: null);

            var withToken = await RawGrpc.CallAsync(host.Channel, method, [[]], cancellationToken: Ct);
            var withoutToken = await RawGrpc.CallAsync(anonymous, method, [[]], cancellationToken: Ct);
            SecurityFigures.Tally("hostile.unknown-method", $"/{service}/{name}", withToken);

            Assert.Equal(StatusCode.Unimplemented, withToken);
            Assert.Equal(StatusCode.Unimplemented, withoutToken);
        }
    }

    [Fact]
    public async Task A_method_name_in_another_case_is_routed_but_refused_because_no_contract_declares_its_scope()
    {
        // gRPC names are case-sensitive, ASP.NET Core routing is not: "/inventory.v1.inventoryservice/getitem" reaches
        // GetItem's endpoint. The auth interceptor looks the scope up by the exact path, finds none, and fails closed.
        var method = RawGrpc.Method(MethodType.Unary, "inventory.v1.inventoryservice", "getitem");
        var request = new Contracts.Inventory.V1.GetItemRequest { Sku = "SEC-1" }.ToByteArray();
        using var anonymous = System.Inventory.CreateChannel(token: null);

        var withEveryScope = await RawGrpc.CallForErrorAsync(System.Inventory.Channel, method, [request], cancellationToken: Ct);
        var withoutToken = await RawGrpc.CallAsync(anonymous, method, [request], cancellationToken: Ct);
        SecurityFigures.Tally("hostile.unknown-method", "/inventory.v1.inventoryservice/getitem", withEveryScope?.StatusCode ?? StatusCode.OK);

        Assert.NotNull(withEveryScope);
        Assert.Equal(StatusCode.PermissionDenied, withEveryScope.StatusCode);
        Assert.Contains("declares no required scope", withEveryScope.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, withoutToken);
    }

    [Fact]
    public async Task Thousands_of_bad_fields_get_a_bounded_INVALID_ARGUMENT_and_the_callers_connection_survives()
    {
        // Before the cap, every violation went into both grpc-message and grpc-status-details-bin: 10,000 bad points
        // made megabytes of trailers, the .NET client gave up on the whole HTTP/2 connection, and every other call on it
        // failed UNAVAILABLE.
        //#if (IncludeTelemetry)
        var badBatch = new Contracts.Telemetry.V1.StreamIngestRequest { BatchId = "bad-batch" };
        badBatch.Points.AddRange(Enumerable.Range(0, 10_000).Select(_ => new Contracts.Telemetry.V1.Point { DeviceId = new string('d', 200), Metric = "" }));
        //#endif
        var badReservation = new Contracts.Inventory.V1.ReserveStockRequest { ReservationId = "bad-lines" };
        badReservation.Lines.AddRange(Enumerable.Range(0, 5_000).Select(i => new Contracts.Inventory.V1.ReservationLine { Sku = $"not a sku {i}!", Quantity = 0 }));
        //#if (IncludeTelemetry)
        using var channel = SecuritySystem.SingleConnectionChannel(System.Telemetry, System.Telemetry.Token!);
        //#endif
        using var inventoryChannel = SecuritySystem.SingleConnectionChannel(System.Inventory, System.Inventory.Token!);

        //#if (IncludeTelemetry)
        var telemetry = await RawGrpc.CallForErrorAsync(channel, RawGrpc.Descriptor("/telemetry.v1.TelemetryIngestService/StreamIngest"), [badBatch.ToByteArray()], cancellationToken: Ct);
        //#endif
        var inventory = await RawGrpc.CallForErrorAsync(inventoryChannel, RawGrpc.Descriptor("/inventory.v1.InventoryService/ReserveStock"), [badReservation.ToByteArray()], cancellationToken: Ct);
        var sameConnectionAfterwards = await RawGrpc.CallAsync(inventoryChannel, RawGrpc.Method(RawGrpc.Descriptor("/inventory.v1.InventoryService/GetItem")),
            [new Contracts.Inventory.V1.GetItemRequest { Sku = "SEC-1" }.ToByteArray()], cancellationToken: Ct);
        //#if (IncludeTelemetry)
        SecurityFigures.Tally("hostile.many-bad-fields", "StreamIngest 10000 bad points", telemetry?.StatusCode ?? StatusCode.OK);
        //#endif
        SecurityFigures.Tally("hostile.many-bad-fields", "ReserveStock 5000 bad lines", inventory?.StatusCode ?? StatusCode.OK);

        RpcException?[] failures =
        [
            //#if (IncludeTelemetry)
            telemetry,
            //#endif
            inventory,
        ];
        foreach (var ex in failures)
        {
            Assert.NotNull(ex);
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            Assert.Equal(ServiceDefaults.Errors.RpcErrors.MaxFieldViolations + 1, ex.ViolatedFields().Count);
            Assert.True(ex.Status.Detail.Length < 4096, $"grpc-message of {ex.Status.Detail.Length} characters.");
            Assert.True(ex.Trailers.Sum(t => t.ValueBytes?.Length ?? t.Value.Length) < 32 * 1024, "Trailers over 32 KB.");
        }

        Assert.Equal(StatusCode.OK, sameConnectionAfterwards);
    }
}
