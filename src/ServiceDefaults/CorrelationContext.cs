using System.Buffers;
using System.Diagnostics;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// The correlation id of the call being served: read from <c>x-correlation-id</c> by CallLoggingInterceptor, passed
/// downstream by CorrelationClientInterceptor, and on every log line as <c>CorrelationId</c>.
/// </summary>
public static class CorrelationContext
{
    /// <summary>The metadata key, in requests and in response headers.</summary>
    public const string HeaderName = "x-correlation-id";

    /// <summary>Longer ids, or ids with other characters, are replaced rather than logged.</summary>
    public const int MaxLength = 128;

    private static readonly SearchValues<char> SafeCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");

    // One async-local for the call: its correlation id and the ids its log lines carry, read only when a line is written.
    private static readonly AsyncLocal<Frame?> CurrentFrame = new();

    /// <summary>The id of the call this code runs for, or null outside a call (e.g. background work).</summary>
    public static string? Current => CurrentFrame.Value?.Id;

    /// <summary>The ids the log lines written now carry, or null outside a call.</summary>
    internal static Frame? CurrentLogIds => CurrentFrame.Value is { LogCorrelationId: not null } frame ? frame : null;

    /// <summary>Whether a caller-supplied id may be used as is: 1-128 characters of letters, digits and - _ . :</summary>
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && !id.AsSpan().ContainsAnyExcept(SafeCharacters);

    /// <summary>A new id: a random version-4 UUID in 32 hex digits.</summary>
    public static string NewId()
    {
        // Guid.NewGuid() draws on the operating system's cryptographic generator (~5% of a server's CPU in a profile
        // where callers sent no id). A correlation id is no secret, only unique, so the shared generator serves.
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (Guid's little-endian layout: the high byte of its third field)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes).ToString("N");
    }

    /// <summary>Makes <paramref name="id"/> current until the returned scope is disposed.</summary>
    public static IDisposable Begin(string id)
    {
        // Log lines keep the ids of the call they are written in (if any); only Current changes.
        var previous = CurrentFrame.Value;
        var frame = new Frame(id, previous?.LogCorrelationId, previous?.Activity, previous?.FallbackTraceId, previous);
        CurrentFrame.Value = frame;
        return frame;
    }

    /// <summary>
    /// Begins a served call: <paramref name="id"/> is current and log lines carry it with the trace and span ids of
    /// <paramref name="activity"/> (or <paramref name="fallbackTraceId"/> when there is no activity).
    /// </summary>
    internal static IDisposable BeginCall(string id, Activity? activity, string? fallbackTraceId)
    {
        var frame = new Frame(id, id, activity, fallbackTraceId, CurrentFrame.Value);
        CurrentFrame.Value = frame;
        return frame;
    }

    internal sealed class Frame(string id, string? logCorrelationId, Activity? activity, string? fallbackTraceId, Frame? previous) : IDisposable
    {
        public string Id { get; } = id;

        public string? LogCorrelationId { get; } = logCorrelationId;

        public Activity? Activity { get; } = activity;

        public string? FallbackTraceId { get; } = fallbackTraceId;

        public void Dispose() => CurrentFrame.Value = previous;
    }
}
