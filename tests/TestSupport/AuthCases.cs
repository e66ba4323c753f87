using System.Text;

using Contoso.Retail.Contracts.Auth;

using Grpc.Core;

using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// The auth matrix every service's tests run on one real method each: credentials a service must refuse with
/// UNAUTHENTICATED, whatever scope they claim. Calls go over <see cref="RunningService.CreateChannel"/>(null),
/// a channel without credentials, with these headers.
/// </summary>
public static class AuthCases
{
    public static TheoryData<string> Unauthenticated() =>
    [
        "no token",
        "expired",
        "not yet valid",
        "wrong issuer",
        "wrong audience",
        "bad signature",
        "alg none",
        "alg HS512 with the right key",
        "not a JWT",
        "token in the wrong metadata key",
        "Basic scheme",
    ];

    /// <summary>The request headers for <paramref name="name"/>: apart from the flaw it names, a token with <paramref name="scope"/>.</summary>
    public static Metadata Headers(RunningService service, string name, string scope)
    {
        ArgumentNullException.ThrowIfNull(service);
        var now = DateTime.UtcNow;
        string Token(string? issuer = null, string? audience = null, DateTime? notBefore = null, TimeSpan? lifetime = null, string key = DevTokens.DevelopmentKey) =>
            DevTokens.Mint(key, issuer ?? DevTokens.DefaultIssuer, audience ?? DevTokens.DefaultAudience, "matrix", [scope], lifetime ?? TimeSpan.FromMinutes(5), notBefore);

        return name switch
        {
            "no token" => [],
            // Well past the 30 s clock skew either way.
            "expired" => Bearer(Token(notBefore: now.AddHours(-2), lifetime: TimeSpan.FromHours(1))),
            "not yet valid" => Bearer(Token(notBefore: now.AddHours(1))),
            "wrong issuer" => Bearer(Token(issuer: "https://someone-else.example")),
            "wrong audience" => Bearer(Token(audience: "another-api")),
            "bad signature" => Bearer(Token(key: Convert.ToBase64String(Encoding.UTF8.GetBytes("an-attacker-chosen-key-of-32-bytes-or-more")))),
            "alg none" => Bearer(Unsigned(scope, now)),
            "alg HS512 with the right key" => Bearer(SignedWith(SecurityAlgorithms.HmacSha512, scope, now)),
            "not a JWT" => Bearer("not-a-jwt"),
            "token in the wrong metadata key" => new Metadata { { "x-access-token", $"Bearer {service.MintToken([scope])}" } },
            "Basic scheme" => new Metadata { { "authorization", "Basic dXNlcjpwYXNzd29yZA==" } },
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
        };
    }

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    /// <summary>A token with every claim right and "alg":"none": no signature at all.</summary>
    private static string Unsigned(string scope, DateTime now)
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(Payload(scope, now));
        return $"{header}.{payload}.";
    }

    /// <summary>Signed with the right key, but in an algorithm the services do not accept.</summary>
    private static string SignedWith(string algorithm, string scope, DateTime now)
    {
        var header = Base64UrlEncoder.Encode($$"""{"alg":"{{algorithm}}","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(Payload(scope, now));
        var key = Convert.FromBase64String(DevTokens.DevelopmentKey);
        using var hmac = new System.Security.Cryptography.HMACSHA512(key);
        var signature = Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    private static string Payload(string scope, DateTime now)
    {
        var (iat, exp) = (new DateTimeOffset(now).ToUnixTimeSeconds(), new DateTimeOffset(now.AddMinutes(5)).ToUnixTimeSeconds());
        return $$"""{"iss":"{{DevTokens.DefaultIssuer}}","aud":"{{DevTokens.DefaultAudience}}","sub":"matrix","scope":"{{scope}}","iat":{{iat}},"nbf":{{iat}},"exp":{{exp}}}""";
    }

    /// <summary>What every refusal must look like: UNAUTHENTICATED, a hint at the scheme, and never the token itself.</summary>
    public static void AssertUnauthenticated(RpcException ex, Metadata sent)
    {
        ArgumentNullException.ThrowIfNull(ex);
        ArgumentNullException.ThrowIfNull(sent);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.StartsWith("Bearer", ex.Trailers.GetValue("www-authenticate"), StringComparison.Ordinal);
        foreach (var header in sent)
        {
            var token = header.Value.Split(' ')[^1];
            Assert.DoesNotContain(token, ex.Status.Detail, StringComparison.Ordinal);
        }
    }

    /// <summary>PERMISSION_DENIED naming the scope the method needs.</summary>
    public static void AssertPermissionDenied(RpcException ex, string scope)
    {
        ArgumentNullException.ThrowIfNull(ex);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains($"'{scope}'", ex.Status.Detail, StringComparison.Ordinal);
    }
}
