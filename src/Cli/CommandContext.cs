using System.CommandLine;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.Contracts.Telemetry.V1;

using Grpc.Core;
using Grpc.Net.Client;

namespace Contoso.Retail.Cli;

/// <summary>What a command needs while it runs: its parsed values, gRPC clients, deadlines and the output.</summary>
public sealed class CommandContext(ParseResult parseResult) : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    public ParseResult ParseResult { get; } = parseResult;

    public Output Output { get; } = new(
        parseResult.InvocationConfiguration.Output,
        parseResult.InvocationConfiguration.Error,
        parseResult.GetValue(GlobalOptions.Json));

    /// <summary>The service addresses this command has called, for error messages.</summary>
    public IReadOnlyCollection<string> Addresses => _channels.Keys;

    public T? Get<T>(Option<T> option) => ParseResult.GetValue(option);

    public T? Get<T>(Argument<T> argument) => ParseResult.GetValue(argument);

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The deadline for a call starting now (--timeout).</summary>
    public DateTime Deadline() => DateTime.UtcNow + (ParseResult.GetValue(GlobalOptions.Timeout) ?? DefaultTimeout);

    public InventoryService.InventoryServiceClient Inventory() => new(Channel(GlobalOptions.Inventory));

    public OrderService.OrderServiceClient Orders() => new(Channel(GlobalOptions.Orders));

    public TelemetryIngestService.TelemetryIngestServiceClient Telemetry() => new(Channel(GlobalOptions.Telemetry));

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
            channel = GrpcChannel.ForAddress(url);
            _channels[url] = channel;
        }

        return channel.CreateCallInvoker();
    }
}
