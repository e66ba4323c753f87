using Contoso.Retail.TestSupport;

using Microsoft.Extensions.DependencyInjection;

using Serilog.Core;
using Serilog.Events;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// A caller that hangs up before its request message has arrived (it resets the stream, or its connection is reset) is
/// no failure of the service: grpc-dotnet's Information line about the failed read, and no Error line.
/// </summary>
public class AbortedRequestTests
{
    private const string GetItem = "/inventory.v1.InventoryService/GetItem";

    private static CancellationToken Ct => SecuritySystem.Ct;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_caller_that_hangs_up_mid_request_leaves_no_Error_line(bool resetsTheStream)
    {
        var logs = new CapturedLogs();
        await using var system = await SecuritySystem.StartAsync(
            settings: new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" },
            configure: builder => builder.Services.AddSingleton<ILogEventSink>(logs));
        var inventory = system.Inventory;

        // The request's headers and the first bytes of a message that claims 100 bytes, the rest never sent.
        var connection = await RawHttp2Connection.OpenAsync(inventory.Address, cancellationToken: Ct);
        try
        {
            await connection.SendAsync(
                [.. connection.RequestHeaders(1, GetItem, inventory.Token), .. RawHttp2Connection.Frame(H2Frame.Data, 0, 1, H2c.GrpcFrame([0x0A, 0x03], declaredLength: 100))],
                Ct);
            // A PING answered means the server has read the frames before it, so the call has started.
            await connection.SendAsync(RawHttp2Connection.Frame(H2Frame.Ping, 0, 0, new byte[8]), Ct);
            Assert.True(await connection.WaitForAsync(frames => frames.Any(f => f.Type == H2Frame.Ping && (f.Flags & H2Frame.Ack) != 0), TimeSpan.FromSeconds(30)));
            if (resetsTheStream)
            {
                await connection.SendAsync(RawHttp2Connection.Frame(H2Frame.RstStream, 0, 1, [0, 0, 0, 0x8]), Ct); // CANCEL
                await Eventually.HoldsAsync(() => Task.FromResult(ReadFailed(logs)), "the failed read to be logged", TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            await connection.AbortAsync();
        }

        await Eventually.HoldsAsync(() => Task.FromResult(ReadFailed(logs)), "the failed read to be logged", TimeSpan.FromSeconds(30));
        Assert.All(logs.Events.Where(ReadFailedLine), line => Assert.Equal(LogEventLevel.Information, line.Level));

        // grpc-dotnet then calls the method canceled (Information), or, when the failed read wins the race with the
        // request's abort signal, "Error when executing service method" (Error), which the services' logging drops
        // (ServiceDefaults.Tests' AbortedRequestLogTests). Either way it comes right after the line above.
        Assert.False(
            await Eventually.WithinAsync(() => Task.FromResult(logs.Events.Any(e => e.Level >= LogEventLevel.Error)), TimeSpan.FromSeconds(1)),
            string.Join('\n', logs.Events.Where(e => e.Level >= LogEventLevel.Error).Select(CapturedLogs.FullText)));
    }

    private static bool ReadFailed(CapturedLogs logs) => logs.Events.Any(ReadFailedLine);

    private static bool ReadFailedLine(LogEvent logEvent) =>
        logEvent.MessageTemplate.Text.StartsWith("Error reading message", StringComparison.Ordinal);
}
