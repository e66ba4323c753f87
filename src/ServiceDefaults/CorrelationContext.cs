using System.Buffers;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// The correlation id of the call being served: taken from the caller's <c>x-correlation-id</c> header by
/// <see cref="Interceptors.CallLoggingInterceptor"/>, passed on to downstream calls by
/// <see cref="Interceptors.CorrelationClientInterceptor"/>, and on every log line as <c>CorrelationId</c>.
/// </summary>
public static class CorrelationContext
{
    /// <summary>The metadata key, in requests and in response headers.</summary>
    public const string HeaderName = "x-correlation-id";

    /// <summary>Longer ids, or ids with other characters, are replaced rather than logged.</summary>
    public const int MaxLength = 128;

    private static readonly SearchValues<char> SafeCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");

    private static readonly AsyncLocal<string?> CurrentId = new();

    /// <summary>The id of the call this code runs for, or null outside a call (e.g. background work).</summary>
    public static string? Current => CurrentId.Value;

    /// <summary>Whether a caller-supplied id may be used as is: 1-128 characters of letters, digits and - _ . :</summary>
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && !id.AsSpan().ContainsAnyExcept(SafeCharacters);

    public static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Makes <paramref name="id"/> current until the returned scope is disposed.</summary>
    public static IDisposable Begin(string id)
    {
        var previous = CurrentId.Value;
        CurrentId.Value = id;
        return new Scope(previous);
    }

    private sealed class Scope(string? previous) : IDisposable
    {
        public void Dispose() => CurrentId.Value = previous;
    }
}
