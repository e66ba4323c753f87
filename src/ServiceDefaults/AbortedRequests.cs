using Microsoft.AspNetCore.Connections;

using Serilog.Events;
using Serilog.Filters;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// A caller that goes away before its request message has been read (it reset the stream, or its connection closed)
/// makes grpc-dotnet log "Error reading message." at Information. Then it logs the call as canceled (Information) or,
/// when the failed read won the race with the request's abort signal, "Error when executing service method" at Error
/// with the same exception. That Error line is dropped: nothing failed in the service, and any client could raise
/// Errors at will by hanging up (a load test's end did, one per call in flight).
/// </summary>
internal static class AbortedRequests
{
    private static readonly Func<LogEvent, bool> FromCallHandler = Matching.FromSource("Grpc.AspNetCore.Server.ServerCallHandler");

    // Kestrel's message when the client sends RST_STREAM; a closed connection carries ConnectionAbortedException instead.
    private const string ClientResetMessage = "The client reset the request stream.";

    internal static bool IsErrorEcho(LogEvent logEvent) =>
        logEvent.Level == LogEventLevel.Error
        && logEvent.Exception is IOException read
        && (read.InnerException is ConnectionAbortedException || read.Message == ClientResetMessage)
        && FromCallHandler(logEvent);
}
