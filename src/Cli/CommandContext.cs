using System.Collections.Concurrent;
using System.CommandLine;

using Contoso.Retail.Contracts;
using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Cli;

/// <summary>What a command needs while it runs: its parsed values, gRPC clients, deadlines and the output.</summary>
public sealed class CommandContext(ParseResult parseResult) : IDisposable
{
    // Long enough for a watch left running for a while; the token is never printed.
    private static readonly TimeSpan MintedLifetime = TimeSpan.FromHours(8);

    private readonly Dictionary<string, GrpcChannel> _channels = [];
    private readonly ConcurrentDictionary<string, string> _minted = new();
    private volatile AuthInterceptorContext? _lastCall;

    public ParseResult ParseResult { get; } = parseResult;

    public Output Output { get; } = new(
        parseResult.InvocationConfiguration.Output,
        parseResult.InvocationConfiguration.Error,
        parseResult.GetValue(GlobalOptions.Json),
        parseResult.GetValue(GlobalOptions.Verbose),
        stderrIsTerminal: ReferenceEquals(parseResult.InvocationConfiguration.Error, Console.Error) && !Console.IsErrorRedirected);

    /// <summary>The service addresses this command has called, for error messages.</summary>
    public IReadOnlyCollection<string> Addresses => _channels.Keys;

    public T? Get<T>(Option<T> option) => ParseResult.GetValue(option);

    public T? Get<T>(Argument<T> argument) => ParseResult.GetValue(argument);

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>--timeout: a unary call's deadline; for a stream, how long it may go without a message (<see cref="StreamTimeout"/>).</summary>
    public TimeSpan Timeout => ParseResult.GetValue(GlobalOptions.Timeout) ?? DefaultTimeout;

    /// <summary>The deadline for a unary call starting now (--timeout).</summary>
    public DateTime Deadline() => DateTime.UtcNow + Timeout;

    /// <summary>For a stream: cancelled when --timeout passes without a message; the stream as a whole has no deadline.</summary>
    public StreamTimeout StreamTimeout(string waitingFor, CancellationToken cancellationToken) => new(Timeout, waitingFor, cancellationToken);

    /// <summary>The command, and the call it made last and where, for an error report.</summary>
    public FailedStep Step()
    {
        var command = FailedStep.CommandOf(ParseResult);
        if (_lastCall is not { } call)
        {
            return new FailedStep(command);
        }

        var service = call.ServiceUrl.LastIndexOf('/');
        return new FailedStep(command, $"/{call.ServiceUrl[(service + 1)..]}/{call.MethodName}", call.ServiceUrl[..service]);
    }

    public InventoryService.InventoryServiceClient Inventory() => new(Channel(GlobalOptions.Inventory));

    public OrderService.OrderServiceClient Orders() => new(Channel(GlobalOptions.Orders));
    //#if (IncludeTelemetry)

    public TelemetryIngestService.TelemetryIngestServiceClient Telemetry() => new(Channel(GlobalOptions.Telemetry));
    //#endif

    /// <summary>
    /// --token / CONTOSO_RETAIL_TOKEN as given, or a development token with the scope the method requires. The Cli is an operator's
    /// tool, so its development tokens also carry orders.admin: it places and reads orders of any --customer.
    /// </summary>
    private string TokenFor(AuthInterceptorContext call)
    {
        _lastCall = call;
        if (ParseResult.GetValue(GlobalOptions.Token) is { Length: > 0 } token)
        {
            return token;
        }

        var scope = RequiredScope(call);
        return _minted.GetOrAdd(scope, s => DevTokens.Mint(
            ParseResult.GetValue(GlobalOptions.DevKey)!, DevTokens.DefaultIssuer, DevTokens.DefaultAudience,
            Commands.TokenCommand.DefaultSubject, [s, Scopes.OrdersAdmin], MintedLifetime));
    }

    /// <summary>The method's required scope; the call's ServiceUrl ends with the service's full name.</summary>
    private static string RequiredScope(AuthInterceptorContext call) =>
        ContractMethods.RequiredScope($"/{call.ServiceUrl[(call.ServiceUrl.LastIndexOf('/') + 1)..]}/{call.MethodName}") ?? "";

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private CallInvoker Channel(Option<string> address)
    {
        var url = ParseResult.GetValue(address)!;
        if (!_channels.TryGetValue(url, out var channel))
        {
            channel = BearerChannel.ForAddress(new Uri(url), TokenFor);
            _channels[url] = channel;
        }

        return channel.CreateCallInvoker();
    }
}
