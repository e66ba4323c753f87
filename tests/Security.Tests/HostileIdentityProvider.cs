using System.Security.Cryptography;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// An OIDC provider (in memory) that signs with RS256 but, misconfigured, also publishes a symmetric ("oct") key in its
/// JWKS - the configuration in which accepting HS* from an authority would let anyone who reads the JWKS forge
/// tokens. The services must trust only its asymmetric keys.
/// </summary>
public sealed class HostileIdentityProvider : IAsyncDisposable
{
    public const string Issuer = "http://hostile-idp.test";
    public const string Audience = "retail";

    private readonly WebApplication _app;

    private HostileIdentityProvider(WebApplication app, RSA rsa, byte[] publishedSecret)
    {
        _app = app;
        Rsa = rsa;
        PublishedSecret = publishedSecret;
    }

    public RSA Rsa { get; }

    /// <summary>The HMAC key anyone can read from the JWKS.</summary>
    public byte[] PublishedSecret { get; }

    public static async Task<HostileIdentityProvider> StartAsync()
    {
        var rsa = RSA.Create(2048);
        var secret = RandomNumberGenerator.GetBytes(64);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseTestServer();
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["jwks_uri"] = $"{Issuer}/jwks",
            ["token_endpoint"] = $"{Issuer}/token",
        }));
        app.MapGet("/jwks", () =>
        {
            var key = rsa.ExportParameters(includePrivateParameters: false);
            return Results.Json(new
            {
                keys = new object[]
                {
                    new { kty = "RSA", use = "sig", kid = "rsa-key", alg = "RS256", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) },
                    new { kty = "oct", use = "sig", kid = "hmac-key", alg = "HS256", k = Base64UrlEncoder.Encode(secret) },
                },
            });
        });
        await app.StartAsync();
        return new HostileIdentityProvider(app, rsa, secret);
    }

    public HttpMessageHandler CreateHandler() => _app.GetTestServer().CreateHandler();

    /// <summary>A token this provider really issues (RS256).</summary>
    public string Mint(string subject, IEnumerable<string> scopes) => Sign(subject, scopes, new RsaSecurityKey(Rsa) { KeyId = "rsa-key" }, SecurityAlgorithms.RsaSha256);

    /// <summary>HS256 with the key the JWKS publishes: what an attacker makes after reading the JWKS.</summary>
    public string MintWithPublishedSecret(string subject, IEnumerable<string> scopes) =>
        Sign(subject, scopes, new SymmetricSecurityKey(PublishedSecret) { KeyId = "hmac-key" }, SecurityAlgorithms.HmacSha256);

    /// <summary>HS256 whose HMAC secret is some encoding of the provider's public RSA key (the classic key confusion).</summary>
    public static string MintWithPublicKeyAsSecret(string subject, IEnumerable<string> scopes, byte[] publicKeyEncoding) =>
        Sign(subject, scopes, new SymmetricSecurityKey(publicKeyEncoding) { KeyId = "rsa-key" }, SecurityAlgorithms.HmacSha256);

    /// <summary>The encodings of the public key an attacker would try as an HMAC secret.</summary>
    public IEnumerable<(string Name, byte[] Bytes)> PublicKeyEncodings()
    {
        yield return ("SubjectPublicKeyInfo DER", Rsa.ExportSubjectPublicKeyInfo());
        yield return ("PKCS#1 DER", Rsa.ExportRSAPublicKey());
        yield return ("PEM text", System.Text.Encoding.ASCII.GetBytes(Rsa.ExportSubjectPublicKeyInfoPem()));
        yield return ("modulus", Rsa.ExportParameters(false).Modulus!);
    }

    public static string Sign(string subject, IEnumerable<string> scopes, SecurityKey key, string algorithm, string issuer = Issuer) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = string.Join(' ', scopes) },
            SigningCredentials = new SigningCredentials(key, algorithm),
        });

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Rsa.Dispose();
    }
}
