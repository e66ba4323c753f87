using System.Security.Cryptography;

using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.Contracts.Auth;

/// <summary>
/// Development tokens: HS256 JWTs signed with a shared key, as the services accept them when
/// Auth:DevSigningKey is configured. The Cli (`contoso-retail token`), DevHost and the tests mint them here.
/// A service refuses to start in Production with any development key.
/// </summary>
public static class DevTokens
{
    /// <summary>
    /// The development key (base64): in every appsettings.Development.json, docker-compose.yml, the clients and the tests;
    /// `dotnet new` puts a random one in each generated solution. It is in the repository, so it protects nothing; it only
    /// makes local runs and tests exercise the real auth path.
    /// </summary>
    public const string DevelopmentKey = "Y29udG9zby1yZXRhaWwtREVWRUxPUE1FTlQtT05MWS1zaWduaW5nLWtleS1uZXZlci1pbi1wcm9k";

    public const string DefaultIssuer = "contoso-retail-dev";

    public const string DefaultAudience = "contoso-retail";

    /// <summary>HMAC-SHA256 wants a key at least as long as its output.</summary>
    public const int MinimumKeyBytes = 32;

    /// <summary>The one algorithm development tokens are signed with and accepted in.</summary>
    public const string Algorithm = SecurityAlgorithms.HmacSha256;

    /// <summary>Decodes a base64 development key.</summary>
    /// <exception cref="FormatException">Not base64, or shorter than <see cref="MinimumKeyBytes"/>.</exception>
    public static SymmetricSecurityKey SigningKey(string base64Key)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64Key);
        }
        catch (FormatException)
        {
            throw new FormatException("The development signing key must be base64.");
        }

        return bytes.Length >= MinimumKeyBytes
            ? new SymmetricSecurityKey(bytes)
            : throw new FormatException(
                $"The development signing key must be at least {MinimumKeyBytes} bytes (base64 of {bytes.Length} bytes given).");
    }

    /// <summary>A signed JWT with "sub", space-separated "scope", "iat", "nbf", "exp" and a fresh "jti".</summary>
    /// <param name="notBefore">When the token starts to be valid; now when not given.</param>
    public static string Mint(
        string base64Key,
        string issuer,
        string audience,
        string subject,
        IEnumerable<string> scopes,
        TimeSpan lifetime,
        DateTime? notBefore = null)
    {
        var start = notBefore ?? DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = start,
            NotBefore = start,
            Expires = start + lifetime,
            SigningCredentials = new SigningCredentials(SigningKey(base64Key), Algorithm),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject,
                ["scope"] = string.Join(' ', scopes),
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            },
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A token the development services accept: the development key, default issuer and audience.</summary>
    public static string Mint(string subject, IEnumerable<string> scopes, TimeSpan lifetime) =>
        Mint(DevelopmentKey, DefaultIssuer, DefaultAudience, subject, scopes, lifetime);
}
