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
                // The connection stays open until the call has ended, so the reset, not the TCP reset below, ends it.
                await connection.SendAsync(RawHttp2Connection.Frame(H2Frame.RstStream, 0, 1, [0, 0, 0, 0x8]), Ct); // CANCEL
                await CallEndedAsync(logs);
            }
        }
        finally
        {
            await connection.AbortAsync();
        }

        await CallEndedAsync(logs);
        Assert.Contains(logs.Events, ReadFailedLine);
        Assert.All(logs.Events.Where(ReadFailedLine), line => Assert.Equal(LogEventLevel.Information, line.Level));

        // After the failed read grpc-dotnet calls the method canceled (Information), or, when the read wins the race with
        // the request's abort signal, "Error when executing service method" (Error), which the services' logging drops
        // (ServiceDefaults.Tests' AbortedRequestLogTests). Either is written before the request is finished.
        Assert.Empty(logs.Events.Where(e => e.Level >= LogEventLevel.Error).Select(CapturedLogs.FullText));
    }

    /// <summary>Until ASP.NET Core's "Request finished" line for the call: everything the call logs comes before it.</summary>
    private static async Task CallEndedAsync(CapturedLogs logs) => await Eventually.HoldsAsync(
        () => Task.FromResult(logs.Events.Any(e =>
            e.MessageTemplate.Text.StartsWith("Request finished", StringComparison.Ordinal) && CapturedLogs.ScalarText(e, "Path") == GetItem)),
        "the call to finish",
        TimeSpan.FromSeconds(30));

    private static bool ReadFailedLine(LogEvent logEvent) =>
        logEvent.MessageTemplate.Text.StartsWith("Error reading message", StringComparison.Ordinal);
}
