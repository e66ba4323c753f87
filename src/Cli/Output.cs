using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.Cli;

/// <summary>
/// Every piece of output the Cli writes: readable text by default, protobuf JSON with --json (one object per line),
/// errors on stderr as "error: Code: message" plus rich details, or with --json as one JSON object.
/// </summary>
/// <param name="stderrIsTerminal">Progress bars are drawn only on a terminal; redirected, stderr gets whole lines only.</param>
public sealed class Output(TextWriter stdout, TextWriter stderr, bool json, bool verbose = false, bool stderrIsTerminal = false)
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private static readonly JsonFormatter DetailFormatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromMessages(
        BadRequest.Descriptor, PreconditionFailure.Descriptor, ResourceInfo.Descriptor, ErrorInfo.Descriptor, RetryInfo.Descriptor)));

    public bool IsJson { get; } = json;

    /// <summary>--verbose: a line per message of a long stream (an acknowledgement) instead of a progress bar.</summary>
    public bool IsVerbose { get; } = verbose;

    /// <summary>A progress bar on stderr for a long stream; null when there is none to draw (redirected, --verbose, --json).</summary>
    public ProgressReporter? Progress(string unit, long? total) =>
        stderrIsTerminal && !IsVerbose && !IsJson ? new ProgressReporter(stderr, unit, total, TimeProvider.System) : null;

    /// <summary>A line of narration; left out with --json so stdout stays machine-readable.</summary>
    public void Line(string text)
    {
        if (!IsJson)
        {
            stdout.WriteLine(text);
        }
    }

    public void Message(IMessage message) => stdout.WriteLine(Formatter.Format(message));

    public void Items(IReadOnlyCollection<Item> items, string nextPageToken)
    {
        if (IsJson)
        {
            Message(new ListItemsResponse { Items = { items }, NextPageToken = nextPageToken });
            return;
        }

        Table(["SKU", "NAME", "AVAILABLE", "RESERVED", "UPDATED"],
            items.Select(i => new[] { i.Sku, i.Name, Number(i.Available), Number(i.Reserved), Time(i.UpdatedAt) }));
        stdout.WriteLine($"{items.Count} item(s)");
        if (nextPageToken.Length > 0)
        {
            stdout.WriteLine($"more: --page-token {nextPageToken}  (or --all)");
        }
    }

    public void Item(Item item, bool? created = null)
    {
        if (IsJson)
        {
            Message(item);
            return;
        }

        var verb = created switch { true => "created ", false => "updated ", null => "" };
        stdout.WriteLine($"{verb}{item.Sku}  {item.Name}");
        stdout.WriteLine($"  available: {Number(item.Available)}");
        stdout.WriteLine($"  reserved:  {Number(item.Reserved)}");
        stdout.WriteLine($"  updated:   {Time(item.UpdatedAt)}");
    }

    public void Order(Order order)
    {
        if (IsJson)
        {
            Message(order);
            return;
        }

        stdout.WriteLine($"order {order.OrderId}  {Status(order.Status)}");
        stdout.WriteLine($"  customer: {order.CustomerId}");
        stdout.WriteLine($"  lines:    {Lines(order)}");
        if (order.StatusReason.Length > 0)
        {
            stdout.WriteLine($"  reason:   {order.StatusReason}");
        }

        stdout.WriteLine($"  request:  {order.RequestId}");
        stdout.WriteLine($"  created:  {Time(order.CreatedAt)}");
        stdout.WriteLine($"  updated:  {Time(order.UpdatedAt)}");
    }

    public void Orders(ListOrdersResponse page)
    {
        if (IsJson)
        {
            Message(page);
            return;
        }

        Table(["ORDER", "STATUS", "LINES", "CREATED"],
            page.Orders.Select(o => new[] { o.OrderId, Status(o.Status), Lines(o), Time(o.CreatedAt) }));
        stdout.WriteLine($"{page.Orders.Count} order(s)");
        if (page.NextPageToken.Length > 0)
        {
            stdout.WriteLine($"more: --page-token {page.NextPageToken}");
        }
    }

    public void Stock(WatchStockResponse change)
    {
        if (IsJson)
        {
            Message(change);
            return;
        }

        var level = change.Level;
        var kind = change.Initial ? "now    " : "change ";
        stdout.WriteLine(
            $"{kind} {level.Sku,-16} available {Number(level.Available),6}  reserved {Number(level.Reserved),6}  at {Time(level.UpdatedAt)}");
    }

    //#if (IncludeTelemetry)
    /// <summary>An acknowledgement, with --json or --verbose only: otherwise a progress bar (or nothing) shows them.</summary>
    public void Ack(StreamIngestResponse ack)
    {
        if (IsJson)
        {
            Message(ack);
            return;
        }

        if (!IsVerbose)
        {
            return;
        }

        stdout.WriteLine($"ack {ack.BatchId}: {ack.AcceptedPoints} point(s){(ack.Duplicate ? " (duplicate: already stored, not stored again)" : "")}");
    }

    public void Points(QueryResponse response)
    {
        if (IsJson)
        {
            Message(response);
            return;
        }

        foreach (var point in response.Points)
        {
            stdout.WriteLine($"{Time(point.Timestamp)}  {point.DeviceId}  {point.Metric}  {point.Value.ToString("0.###", CultureInfo.InvariantCulture)}");
        }
    }

    //#endif
    public void Error(string message) => stderr.WriteLine($"error: {message}");

    /// <summary>A minted token, alone on stdout so that $(contoso-retail token ...) captures it.</summary>
    public void Token(string token) => stdout.WriteLine(token);

    /// <summary>An indented line under an error; left out with --json, whose error is a single object.</summary>
    public void Hint(string text)
    {
        if (!IsJson)
        {
            stderr.WriteLine($"  {text}");
        }
    }

    /// <summary>
    /// The status code and message, then any google.rpc details (field violations, preconditions...);
    /// with --json all of it, and what the Cli was doing, as one object on stderr (see <see cref="Failure"/>).
    /// </summary>
    public void Error(RpcException exception, FailedStep step)
    {
        ArgumentNullException.ThrowIfNull(exception);
        // A transport failure's cause (e.g. "Connection refused") is only in the client-side DebugException.
        var cause = exception.Status.DebugException?.GetBaseException().Message;
        var details = exception.GetRpcStatus()?.Details ?? [];
        if (IsJson)
        {
            Failure(exception.StatusCode.ToString(), exception.Status.Detail, step, cause, details);
            return;
        }

        stderr.WriteLine($"error: {exception.StatusCode}: {exception.Status.Detail}{(cause is null ? "" : $" ({cause})")}");
        foreach (var detail in details)
        {
            foreach (var line in DetailLines(detail))
            {
                stderr.WriteLine($"  {line}");
            }
        }
    }

    /// <summary>A failure that is not a call's status (cancelled, a usage error, an unreachable address...).</summary>
    public void Error(string code, string message, FailedStep step)
    {
        if (IsJson)
        {
            Failure(code, message, step, cause: null, details: []);
            return;
        }

        Error(message);
    }

    /// <summary>
    /// With --json, one line on stderr (stdout keeps only results):
    /// {"error":{"code":"NotFound","detail":"...","command":"orders get","call":"/orders.v1.OrderService/GetOrder",
    /// "address":"http://...","cause":"...","details":[google.rpc details as protobuf JSON]}};
    /// fields with nothing to say are left out.
    /// </summary>
    private void Failure(string code, string detail, FailedStep step, string? cause, IEnumerable<Any> details)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("detail", detail);
            json.WriteString("command", step.Command);
            WriteIfAny("call", step.Call);
            WriteIfAny("address", step.Address);
            WriteIfAny("cause", cause);
            var all = details.ToList();
            if (all.Count > 0)
            {
                json.WriteStartArray("details");
                foreach (var any in all)
                {
                    using var formatted = JsonDocument.Parse(FormatDetail(any));
                    formatted.RootElement.WriteTo(json);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndObject();

            void WriteIfAny(string name, string? value)
            {
                if (value is { Length: > 0 })
                {
                    json.WriteString(name, value);
                }
            }
        }

        stderr.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>A known google.rpc detail as protobuf JSON ("@type" and its fields); any other as its type alone.</summary>
    private static string FormatDetail(Any detail)
    {
        try
        {
            return DetailFormatter.Format(detail);
        }
        catch (InvalidOperationException)
        {
            return JsonSerializer.Serialize(new Dictionary<string, string> { ["@type"] = detail.TypeUrl });
        }
    }

    private static IEnumerable<string> DetailLines(Any detail)
    {
        if (detail.TryUnpack(out BadRequest badRequest))
        {
            return badRequest.FieldViolations.Select(v => $"field {v.Field}: {v.Description}");
        }

        if (detail.TryUnpack(out PreconditionFailure failure))
        {
            return failure.Violations.Select(v => $"precondition {string.Join(' ', new[] { v.Type, v.Subject }.Where(s => s.Length > 0))}: {v.Description}");
        }

        if (detail.TryUnpack(out ResourceInfo resource))
        {
            return [$"resource {resource.ResourceType} '{resource.ResourceName}'{(resource.Description.Length > 0 ? ": " + resource.Description : "")}"];
        }

        if (detail.TryUnpack(out ErrorInfo info))
        {
            return [$"reason {info.Reason} ({info.Domain})"];
        }

        if (detail.TryUnpack(out RetryInfo retry))
        {
            return [$"retry after {retry.RetryDelay.ToTimeSpan()}"];
        }

        return [$"detail {Any.GetTypeName(detail.TypeUrl)}"];
    }

    private void Table(string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => all.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        stdout.WriteLine(Row(headers));
        foreach (var row in all)
        {
            stdout.WriteLine(Row(row));
        }

        string Row(string[] cells) => string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
    }

    private static string Lines(Order order) => string.Join(", ", order.Lines.Select(l => $"{l.Sku} x{l.Quantity}"));

    private static string Status(OrderStatus status) => status.ToString().ToUpperInvariant();

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(Timestamp? timestamp) =>
        timestamp is null ? "-" : timestamp.ToDateTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
