using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.TestSupport;

using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using Serilog.Core;
using Serilog.Events;

namespace Contoso.Retail.ServiceDefaults.Tests.Logging;

/// <summary>
/// When a caller hangs up before its request message arrived and the failed read wins the race with the request's
/// abort signal, grpc-dotnet logs it twice: "Error reading message." (Information), then "Error when executing service
/// method" (Error) with the same exception. A load test's end wrote one such Error per call in flight. The services'
/// logging drops the Error line; every other Error stays.
/// </summary>
public partial class AbortedRequestLogTests
{
    private const string CallHandler = "Grpc.AspNetCore.Server.ServerCallHandler";

    [Fact]
    public async Task The_Error_echo_of_a_request_the_caller_abandoned_is_dropped_and_other_Errors_are_kept()
    {
        var logs = new CapturedLogs();
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var settings = db.Settings("Notes");
        settings["Serilog:MinimumLevel:Default"] = "Information";
        await using var host = await NotesHost.StartAsync(settings, builder => builder.Services.AddSingleton<ILogEventSink>(logs));
        var logger = host.Service.Services.GetRequiredService<ILoggerFactory>().CreateLogger(CallHandler);

        // As grpc-dotnet writes them: a reset stream, a connection that went away (inner ConnectionAbortedException).
        var reset = new IOException("The client reset the request stream.");
        var aborted = new IOException("The request stream was aborted.", new ConnectionAbortedException("The HTTP/2 connection faulted."));
        foreach (var abandoned in new[] { reset, aborted })
        {
            ErrorReadingMessage(logger, abandoned);
            ErrorExecutingServiceMethod(logger, abandoned, "GetNote");
        }

        // Errors that are not a caller hanging up: another IOException, the same one from another category.
        ErrorExecutingServiceMethod(logger, new IOException("Disk full."), "SaveNote");
        LostDependency(host.Service.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Contoso.Retail.Notes"), aborted);

        Assert.Equal(2, logs.Events.Count(e => e.Level == LogEventLevel.Information && e.MessageTemplate.Text == "Error reading message."));
        Assert.Equal(
            ["Error when executing service method '{ServiceMethod}'.|Disk full.", "Lost the connection to a dependency.|The request stream was aborted."],
            logs.Events.Where(e => e.Level == LogEventLevel.Error).Select(e => $"{e.MessageTemplate.Text}|{e.Exception?.Message}"));
    }

    // grpc-dotnet's own two lines (Grpc.AspNetCore.Server.ServerCallHandler, event ids 14 and 6).
    [LoggerMessage(EventId = 14, EventName = "ErrorReadingMessage", Level = LogLevel.Information, Message = "Error reading message.")]
    private static partial void ErrorReadingMessage(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, EventName = "ErrorExecutingServiceMethod", Level = LogLevel.Error, Message = "Error when executing service method '{ServiceMethod}'.")]
    private static partial void ErrorExecutingServiceMethod(ILogger logger, Exception exception, string serviceMethod);

    [LoggerMessage(Level = LogLevel.Error, Message = "Lost the connection to a dependency.")]
    private static partial void LostDependency(ILogger logger, Exception exception);
}
