using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.DevHost;

using Google.Protobuf;

namespace Contoso.Retail.Clients.Tests;

/// <summary>gRPC-Web on the services' HTTP/1.1 endpoint, CORS for the page's origin only, and the page's Development token.</summary>
public sealed class GrpcWebTests(ClientSystem system)
{
    private const string WatchStock = "/inventory.v1.InventoryService/WatchStock";

    private static readonly HttpClient Http = new();

    [Fact]
    public async Task Preflight_from_the_page_origin_is_allowed_and_from_another_origin_is_not()
    {
        var fromPage = await PreflightAsync(system.Page.Origin);
        var fromElsewhere = await PreflightAsync("http://elsewhere.example");

        Assert.Equal(HttpStatusCode.NoContent, fromPage.StatusCode);
        Assert.Equal(system.Page.Origin, Header(fromPage, "Access-Control-Allow-Origin"));
        Assert.Contains("authorization", Header(fromPage, "Access-Control-Allow-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.Null(Header(fromElsewhere, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Unary_call_over_HTTP_1_1_returns_the_message_and_the_status_in_the_body_with_status_headers_exposed()
    {
        var sku = $"GW-{Guid.NewGuid():N}"[..11].ToUpperInvariant();
        var inventory = new InventoryService.InventoryServiceClient(system.Inventory.Channel);
        await inventory.UpsertItemAsync(new UpsertItemRequest { Sku = sku, Name = "gRPC-Web widget", Available = 4 }, cancellationToken: TestContext.Current.CancellationToken);

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(system.InventoryWeb, "/inventory.v1.InventoryService/GetItem"))
        {
            Version = HttpVersion.Version11,
            Content = new ByteArrayContent(Frame(0, new GetItemRequest { Sku = sku }.ToByteArray())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", DevTokens.Mint("grpc-web-test", ["inventory.read"], TimeSpan.FromMinutes(5)));
        request.Headers.Add("Origin", system.Page.Origin);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.Contains("grpc-status", Header(response, "Access-Control-Expose-Headers") ?? "", StringComparison.OrdinalIgnoreCase);
        var (message, trailers) = (ReadFrame(body, 0), ReadFrame(body, 5 + BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1))));
        Assert.Equal(0, message.Flag);
        Assert.Equal(4, GetItemResponse.Parser.ParseFrom(message.Payload).Item.Available);
        Assert.Equal(0x80, trailers.Flag);
        Assert.Matches(@"(?m)^grpc-status: ?0\r$", Encoding.ASCII.GetString(trailers.Payload));
    }

    [Fact]
    public async Task Page_server_hands_out_a_token_the_services_accept_in_Development_and_none_elsewhere()
    {
        using var response = await Http.PostAsync(new Uri(system.Page.Address, WebPage.TokenPath.TrimStart('/')), null, TestContext.Current.CancellationToken);
        var token = await response.Content.ReadFromJsonAsync<WebPageToken>(TestContext.Current.CancellationToken);
        await using var production = await WebPage.StartAsync("http://127.0.0.1:0", system.PageRoot, "Production",
            () => new WebPageConfig("", ""), _ => "must-not-be-served", TestContext.Current.CancellationToken);
        using var refused = await Http.PostAsync(new Uri(production.Address, WebPage.TokenPath.TrimStart('/')), null, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WebPage.Customer, token!.Customer);
        using var channel = BearerChannel.ForAddress(system.Inventory.Address, token.Token);
        var items = await new InventoryService.InventoryServiceClient(channel).ListItemsAsync(new ListItemsRequest(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(items);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    private async Task<HttpResponseMessage> PreflightAsync(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri(system.InventoryWeb, WatchStock));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-grpc-web,x-user-agent");
        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static byte[] Frame(byte flag, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static (byte Flag, byte[] Payload) ReadFrame(byte[] body, int offset)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(offset + 1));
        return (body[offset], body.AsSpan(offset + 5, length).ToArray());
    }
}
