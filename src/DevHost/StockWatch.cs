using System.Threading.Channels;

using Contoso.Retail.Contracts.Inventory.V1;

using Grpc.Core;

namespace Contoso.Retail.DevHost;

/// <summary>WatchStock on one item; the demo waits for the change each step should cause.</summary>
internal sealed class StockWatch : IDisposable
{
    private readonly AsyncServerStreamingCall<WatchStockResponse> _call;
    private readonly Channel<WatchStockResponse> _received = Channel.CreateUnbounded<WatchStockResponse>();
    private readonly TextWriter _output;
    private readonly CancellationToken _cancellationToken;

    public StockWatch(InventoryService.InventoryServiceClient inventory, string sku, TextWriter output, CancellationToken cancellationToken)
    {
        _output = output;
        _cancellationToken = cancellationToken;
        _call = inventory.WatchStock(new WatchStockRequest { Skus = { sku } }, cancellationToken: cancellationToken);
        _ = PumpAsync();
    }

    /// <summary>Reads the stream until a level matches <paramref name="expected"/>, printing what arrives.</summary>
    public async Task NextAsync(string what, Func<StockLevel, bool> expected)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
        timeout.CancelAfter(Demo.StepTimeout);
        try
        {
            while (true)
            {
                var message = await _received.Reader.ReadAsync(timeout.Token);
                var level = message.Level;
                var change = message.Initial ? "now" : "changed";
                await _output.WriteLineAsync($"   watch: {change} {level.Sku} available {level.Available}, reserved {level.Reserved}");
                if (expected(level))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new DemoFailure($"the watch stream did not show the expected level {what}");
        }
    }

    public void Dispose() => _call.Dispose();

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var message in _call.ResponseStream.ReadAllAsync(_cancellationToken))
            {
                await _received.Writer.WriteAsync(message, _cancellationToken);
            }

            _received.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _received.Writer.TryComplete(ex);
        }
    }
}

/// <summary>A demo step that did not do what it should; the message says what.</summary>
internal sealed class DemoFailure(string message) : Exception(message);
