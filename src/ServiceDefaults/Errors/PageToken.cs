using System.Buffers.Text;
using System.Text;

namespace Contoso.Retail.ServiceDefaults.Errors;

/// <summary>
/// Opaque page tokens: the key of the last row of a page, base64url-encoded behind a version
/// prefix. A token the server did not issue is INVALID_ARGUMENT, never a crash or an empty page.
/// </summary>
public static class PageToken
{
    private const string Prefix = "v1:";

    public static string Encode(string lastKey) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + lastKey));

    /// <returns>The key after which the next page starts, or null for the first page.</returns>
    public static string? Decode(string? token, string field = "page_token")
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            if (text.StartsWith(Prefix, StringComparison.Ordinal) && text.Length > Prefix.Length)
            {
                return text[Prefix.Length..];
            }
        }
        catch (FormatException)
        {
        }

        throw RpcErrors.InvalidArgument(field, "is not a page token issued by this service");
    }

    /// <summary>Clamps a requested page size: 0 means <paramref name="defaultSize"/>; otherwise 1..<paramref name="maxSize"/>.</summary>
    public static int Size(int requested, int defaultSize, int maxSize, string field = "page_size")
    {
        if (requested < 0 || requested > maxSize)
        {
            throw RpcErrors.InvalidArgument(field, $"must be between 0 and {maxSize}");
        }

        return requested == 0 ? defaultSize : requested;
    }
}
