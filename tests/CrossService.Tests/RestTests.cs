using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>One system for the REST tests: the three services on Kestrel and SQLite, REST on their HTTP/1.1 endpoints.</summary>
public sealed class RestSystem : IAsyncLifetime
{
    public TestSystem System { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        System = await TestSystem.StartAsync(new TestSystemOptions
        {
            Inventory = new(),
            Orders = new(),
            //#if (IncludeTelemetry)
            Telemetry = new(),
            //#endif
        });

    public async ValueTask DisposeAsync() => await System.DisposeAsync();
}

/// <summary>
/// REST/JSON over real HTTP/1.1 (gRPC JSON transcoding of the protos' google.api.http rules): each route against
/// real services and databases, the same auth and error details as gRPC, and the OpenAPI documents.
/// </summary>
public sealed class RestTests(RestSystem fixture) : IClassFixture<RestSystem>
{
    private TestSystem System => fixture.System;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Items_are_created_read_and_listed_page_by_page()
    {
        using var http = System.Inventory.CreateHttpClient(System.Inventory.Token);
        var prefix = Unique("REST");
        for (var i = 0; i < 5; i++)
        {
            var put = await http.PutAsync($"/v1/items/{prefix}-{i}", Body(new { name = $"Item {i}", available = 10 + i }), Token);
            var created = await ReadAsync(put, HttpStatusCode.OK);
            Assert.True(created["created"]!.GetValue<bool>());
            Assert.Equal($"{prefix}-{i}", created["item"]!["sku"]!.GetValue<string>());
        }

        // The body's available replaces the old one, and a read right after sees it.
        await ReadAsync(await http.PutAsync($"/v1/items/{prefix}-0", Body(new { name = "Renamed", available = 7 }), Token), HttpStatusCode.OK);
        var item = (await ReadAsync(await http.GetAsync($"/v1/items/{prefix}-0", Token), HttpStatusCode.OK))["item"]!;
        Assert.Equal("Renamed", item["name"]!.GetValue<string>());
        Assert.Equal(7, item["available"]!.GetValue<int>());

        var listed = new List<string>();
        var pageToken = "";
        var pages = 0;
        do
        {
            var page = await ReadAsync(
                await http.GetAsync($"/v1/items?pageSize=2&pageToken={Uri.EscapeDataString(pageToken)}", Token), HttpStatusCode.OK);
            var items = page["items"]?.AsArray() ?? [];
            Assert.True(items.Count <= 2, $"a page of {items.Count} items for pageSize=2");
            listed.AddRange(items.Select(i => i!["sku"]!.GetValue<string>()));
            pageToken = page["nextPageToken"]?.GetValue<string>() ?? "";
            pages++;
        }
        while (pageToken.Length > 0 && pages < 100);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{prefix}-{i}"), listed.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Equal(listed.Order(StringComparer.Ordinal), listed);
        Assert.True(pages >= 3, $"{listed.Count} items in {pages} pages");
    }

    [Fact]
    public async Task No_token_is_401_with_a_challenge_and_a_missing_scope_is_403()
    {
        using var anonymous = System.Inventory.CreateHttpClient(token: null);
        var unauthenticated = await anonymous.GetAsync("/v1/items/ANY-1", Token);
        var body = await ReadAsync(unauthenticated, HttpStatusCode.Unauthorized);
        Assert.Equal(16, body["code"]!.GetValue<int>()); // UNAUTHENTICATED
        Assert.Equal("Bearer", unauthenticated.Headers.WwwAuthenticate.Single().Scheme);

        using var forged = System.Inventory.CreateHttpClient("not-a-jwt");
        Assert.Equal(16, (await ReadAsync(await forged.GetAsync("/v1/items/ANY-1", Token), HttpStatusCode.Unauthorized))["code"]!.GetValue<int>());

        using var readOnly = System.Inventory.CreateHttpClient(System.Inventory.MintToken(["inventory.read"]));
        var forbidden = await ReadAsync(
            await readOnly.PutAsync("/v1/items/ANY-1", Body(new { name = "x", available = 1 }), Token), HttpStatusCode.Forbidden);
        Assert.Equal(7, forbidden["code"]!.GetValue<int>()); // PERMISSION_DENIED
        Assert.Contains("inventory.write", forbidden["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_validation_error_is_400_with_its_field_violations_in_json()
    {
        using var http = System.Inventory.CreateHttpClient(System.Inventory.Token);

        var error = await ReadAsync(
            await http.PutAsync($"/v1/items/{Unique("BAD")}", Body(new { name = "", available = -1 }), Token), HttpStatusCode.BadRequest);

        Assert.Equal(3, error["code"]!.GetValue<int>()); // INVALID_ARGUMENT
        var detail = Assert.Single(error["details"]!.AsArray())!;
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", detail["@type"]!.GetValue<string>());
        Assert.Equal(["available", "name"], detail["fieldViolations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()).Order());

        var malformed = await ReadAsync(
            await http.PutAsync($"/v1/items/{Unique("BAD")}", new StringContent("{not json", null, "application/json"), Token), HttpStatusCode.BadRequest);
        Assert.Equal(3, malformed["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Orders_are_placed_idempotently_read_listed_and_cancelled()
    {
        var sku = await CreateItemAsync(available: 5);
        var customer = Unique("customer");
        using var orders = System.Orders.CreateHttpClient(System.Orders.Token);
        using var inventory = System.Inventory.CreateHttpClient(System.Inventory.Token);
        var request = new { requestId = Guid.NewGuid().ToString(), customerId = customer, lines = new[] { new { sku, quantity = 2 } } };

        var placed = (await ReadAsync(await orders.PostAsync("/v1/orders", Body(request), Token), HttpStatusCode.OK))["order"]!;
        var replayed = (await ReadAsync(await orders.PostAsync("/v1/orders", Body(request), Token), HttpStatusCode.OK))["order"]!;

        var orderId = placed["orderId"]!.GetValue<string>();
        Assert.Equal("ORDER_STATUS_CONFIRMED", placed["status"]!.GetValue<string>());
        Assert.Equal(orderId, replayed["orderId"]!.GetValue<string>());
        var item = (await ReadAsync(await inventory.GetAsync($"/v1/items/{sku}", Token), HttpStatusCode.OK))["item"]!;
        Assert.Equal((3, 2), (item["available"]!.GetValue<int>(), item["reserved"]!.GetValue<int>()));

        var read = (await ReadAsync(await orders.GetAsync($"/v1/orders/{orderId}", Token), HttpStatusCode.OK))["order"]!;
        Assert.Equal(customer, read["customerId"]!.GetValue<string>());

        var second = new { requestId = Guid.NewGuid().ToString(), customerId = customer, lines = new[] { new { sku, quantity = 1 } } };
        var secondId = (await ReadAsync(await orders.PostAsync("/v1/orders", Body(second), Token), HttpStatusCode.OK))["order"]!["orderId"]!.GetValue<string>();
        var firstPage = await ReadAsync(await orders.GetAsync($"/v1/orders?customerId={customer}&pageSize=1", Token), HttpStatusCode.OK);
        var nextToken = firstPage["nextPageToken"]!.GetValue<string>();
        var secondPage = await ReadAsync(
            await orders.GetAsync($"/v1/orders?customerId={customer}&pageSize=1&pageToken={Uri.EscapeDataString(nextToken)}", Token), HttpStatusCode.OK);
        Assert.Equal([secondId, orderId], [Single(firstPage), Single(secondPage)]); // newest first
        Assert.Equal("", secondPage["nextPageToken"]?.GetValue<string>() ?? "");

        var cancelled = (await ReadAsync(
            await orders.PostAsync($"/v1/orders/{orderId}:cancel", Body(new { reason = "changed my mind" }), Token), HttpStatusCode.OK))["order"]!;
        Assert.Equal("ORDER_STATUS_CANCELLED", cancelled["status"]!.GetValue<string>());
        item = (await ReadAsync(await inventory.GetAsync($"/v1/items/{sku}", Token), HttpStatusCode.OK))["item"]!;
        Assert.Equal((4, 1), (item["available"]!.GetValue<int>(), item["reserved"]!.GetValue<int>()));

        static string Single(JsonNode page) => Assert.Single(page["orders"]!.AsArray())!["orderId"]!.GetValue<string>();
    }

    [Fact]
    public async Task Insufficient_stock_is_400_with_the_precondition_failure_naming_the_sku()
    {
        var sku = await CreateItemAsync(available: 1);
        using var orders = System.Orders.CreateHttpClient(System.Orders.Token);
        var request = new { requestId = Guid.NewGuid().ToString(), customerId = Unique("customer"), lines = new[] { new { sku, quantity = 2 } } };

        var error = await ReadAsync(await orders.PostAsync("/v1/orders", Body(request), Token), HttpStatusCode.BadRequest);

        Assert.Equal(9, error["code"]!.GetValue<int>()); // FAILED_PRECONDITION
        var detail = error["details"]!.AsArray().Single(d => d!["@type"]!.GetValue<string>() == "type.googleapis.com/google.rpc.PreconditionFailure")!;
        Assert.Contains(detail["violations"]!.AsArray(), v => v!["subject"]!.GetValue<string>().Contains(sku, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_order_is_404()
    {
        using var orders = System.Orders.CreateHttpClient(System.Orders.Token);

        var error = await ReadAsync(await orders.GetAsync($"/v1/orders/{Guid.NewGuid()}", Token), HttpStatusCode.NotFound);

        Assert.Equal(5, error["code"]!.GetValue<int>());
    }

    //#if (IncludeTelemetry)
    [Fact]
    public async Task A_telemetry_batch_is_stored_once_and_read_back_as_json_lines()
    {
        using var http = System.Telemetry.CreateHttpClient(System.Telemetry.Token);
        var device = Unique("device");
        var start = DateTime.UtcNow.AddMinutes(-10);
        var points = Enumerable.Range(0, 1200).Select(i => new
        {
            deviceId = device,
            metric = "temperature_c",
            timestamp = start.AddMilliseconds(i).ToString("O"),
            value = 20.0 + i,
            labels = new Dictionary<string, string> { ["room"] = "lab" },
        }).ToArray();
        var batch = new { batchId = $"{device}-1", points };

        var first = await ReadAsync(await http.PostAsync("/v1/telemetry:ingest", Body(batch), Token), HttpStatusCode.OK);
        var again = await ReadAsync(await http.PostAsync("/v1/telemetry:ingest", Body(batch), Token), HttpStatusCode.OK);

        Assert.Equal((1200, false), (first["acceptedPoints"]!.GetValue<int>(), first["duplicate"]?.GetValue<bool>() ?? false));
        Assert.True(again["duplicate"]!.GetValue<bool>());

        var query = $"/v1/telemetry/{device}/points?startTime={start.AddMinutes(-1):O}&endTime={DateTime.UtcNow.AddMinutes(1):O}";
        using var response = await http.GetAsync(query, HttpCompletionOption.ResponseHeadersRead, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync(Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var values = lines.SelectMany(line => JsonNode.Parse(line)!["points"]!.AsArray()).Select(p => p!["value"]!.GetValue<double>()).ToList();
        Assert.True(lines.Length >= 3, $"1,200 points in {lines.Length} line(s): a long result should arrive as several messages");
        Assert.Equal(points.Select(p => p.value), values);

        var invalid = await ReadAsync(await http.PostAsync("/v1/telemetry:ingest", Body(new { batchId = "", points }), Token), HttpStatusCode.BadRequest);
        Assert.Equal(3, invalid["code"]!.GetValue<int>());
    }

    //#endif
    [Fact]
    public async Task Each_service_publishes_an_openapi_document_listing_its_routes_and_the_bearer_scheme()
    {
        string[] inventory = ["GET /v1/items", "GET /v1/items/{sku}", "PUT /v1/items/{sku}"];
        string[] orders = ["GET /v1/orders", "GET /v1/orders/{orderId}", "POST /v1/orders", "POST /v1/orders/{orderId}:cancel"];
        await AssertDocumentAsync(System.Inventory, inventory);
        await AssertDocumentAsync(System.Orders, orders);
        //#if (IncludeTelemetry)
        await AssertDocumentAsync(System.Telemetry, ["GET /v1/telemetry/{deviceId}/points", "POST /v1/telemetry:ingest"]);
        //#endif

        async Task AssertDocumentAsync(RunningService service, string[] routes)
        {
            // Anonymous, like health: the document describes the API, it grants nothing.
            using var http = service.CreateHttpClient(token: null);
            var document = await ReadAsync(await http.GetAsync(Rest.DocumentPath, Token), HttpStatusCode.OK);
            var operations = document["paths"]!.AsObject()
                .SelectMany(path => path.Value!.AsObject().Select(operation => $"{operation.Key.ToUpperInvariant()} {path.Key}"))
                .Order(StringComparer.Ordinal);
            Assert.Equal(routes.Order(StringComparer.Ordinal), operations);
            Assert.Equal("bearer", document["components"]!["securitySchemes"]!["Bearer"]!["scheme"]!.GetValue<string>());
            Assert.Contains(
                document["paths"]!.AsObject(),
                path => path.Value!.AsObject().Any(operation => operation.Value!["summary"] is not null));
        }
    }

    [Fact]
    public async Task A_body_over_the_message_size_cap_is_refused_and_the_service_keeps_serving()
    {
        using var http = System.Inventory.CreateHttpClient(System.Inventory.Token);
        var name = new string('x', GrpcServer.DefaultMaxMessageSize + 1024);

        using var response = await http.PutAsync($"/v1/items/{Unique("BIG")}", Body(new { name, available = 1 }), Token);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{status} for a {GrpcServer.DefaultMaxMessageSize / 1024 / 1024} MB+ body");
        await ReadAsync(await http.GetAsync($"/v1/items/{await CreateItemAsync(available: 1)}", Token), HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_swagger_page_is_served_in_Development_only()
    {
        // The harness runs services in the "Test" environment, which is not Development: the document, but no page.
        using var http = System.Inventory.CreateHttpClient(token: null);

        using var page = await http.GetAsync("/openapi/index.html", Token);

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
    }

    [Fact]
    public async Task Correlation_ids_travel_with_rest_calls_too()
    {
        using var http = System.Inventory.CreateHttpClient(System.Inventory.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/items/NO-SUCH-ITEM");
        request.Headers.Add("x-correlation-id", "rest-correlation-1");

        using var response = await http.SendAsync(request, Token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("rest-correlation-1", response.Headers.GetValues("x-correlation-id").Single());
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private async Task<string> CreateItemAsync(int available)
    {
        using var http = System.Inventory.CreateHttpClient(System.Inventory.Token);
        var sku = Unique("SKU");
        await ReadAsync(await http.PutAsync($"/v1/items/{sku}", Body(new { name = "Test item", available }), Token), HttpStatusCode.OK);
        return sku;
    }

    private static async Task<JsonNode> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} {response.StatusCode} where {expected} was due: {text}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return JsonNode.Parse(text)!;
        }
    }

    private static JsonContent Body<T>(T value) => JsonContent.Create(value, options: JsonSerializerOptions.Web);
}

/// <summary>Rest:Enabled=false turns the routes and the document off; gRPC is untouched.</summary>
public sealed class RestDisabledTests
{
    [Fact]
    public async Task Rest_can_be_switched_off_by_configuration()
    {
        await using var system = await TestSystem.StartAsync(new TestSystemOptions
        {
            Inventory = new() { Settings = new() { ["Rest:Enabled"] = "false" } },
        });
        using var http = system.Inventory.CreateHttpClient(system.Inventory.Token);

        using var route = await http.GetAsync("/v1/items/ANY-1", TestContext.Current.CancellationToken);
        using var document = await http.GetAsync(Rest.DocumentPath, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        var client = new Contracts.Inventory.V1.InventoryService.InventoryServiceClient(system.Inventory.Channel);
        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(
            () => client.GetItemAsync(new() { Sku = "ANY-1" }, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.NotFound, error.StatusCode);
    }
}
