using System.Security.Cryptography;

using Contoso.Retail.ServiceDefaults;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// A stand-in for a production OIDC provider (no real one can run here): discovery document, an RSA signing key
/// published as JWKS, and an OAuth2 client-credentials token endpoint, served in memory. Point a service's
/// "Contoso.Retail.Auth" HttpClient at <see cref="CreateHandler"/> and set Auth:Authority to <see cref="Authority"/>.
/// <see cref="StartHostileAsync"/> starts it misconfigured, also publishing a symmetric key an attacker can read.
/// </summary>
public sealed class FakeIdentityProvider : IAsyncDisposable
{
    public const string Issuer = "http://idp.test";
    public const string HostileIssuer = "http://hostile-idp.test";
    public const string Audience = "contoso-retail";
    public const string ClientId = "orders-service";
    public const string ClientSecret = "orders-secret";
    private const string RsaKeyId = "rsa-key";

    private readonly WebApplication _app;

    private FakeIdentityProvider(WebApplication app, string authority, RSA rsa, byte[]? publishedSecret)
    {
        _app = app;
        Authority = authority;
        Rsa = rsa;
        PublishedSecret = publishedSecret;
    }

    /// <summary>Its issuer: <see cref="Issuer"/>, or <see cref="HostileIssuer"/> when hostile.</summary>
    public string Authority { get; }

    /// <summary>The key the provider signs with; its public half is in the JWKS.</summary>
    public RSA Rsa { get; }

    /// <summary>The HMAC key a hostile provider publishes in its JWKS beside the RSA key; null otherwise.</summary>
    public byte[]? PublishedSecret { get; }

    /// <summary>Client-credentials requests answered so far.</summary>
    public int TokensIssued { get; private set; }

    public static Task<FakeIdentityProvider> StartAsync() => StartAsync(Issuer, publishedSecret: null);

    /// <summary>
    /// Signs with RS256 but also publishes a symmetric ("oct") key in its JWKS - the configuration in which accepting
    /// HS* from an authority would let anyone who reads the JWKS forge tokens.
    /// </summary>
    public static Task<FakeIdentityProvider> StartHostileAsync() => StartAsync(HostileIssuer, RandomNumberGenerator.GetBytes(64));

    private static async Task<FakeIdentityProvider> StartAsync(string issuer, byte[]? publishedSecret)
    {
        var rsa = RSA.Create(2048);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseTestServer();
        var app = builder.Build();
        var provider = new FakeIdentityProvider(app, issuer, rsa, publishedSecret);
        var discovery = new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = $"{issuer}/jwks",
            ["token_endpoint"] = $"{issuer}/token",
        };
        if (publishedSecret is null)
        {
            discovery["id_token_signing_alg_values_supported"] = new[] { "RS256" };
        }

        app.MapGet("/.well-known/openid-configuration", () => Results.Json(discovery));
        app.MapGet("/jwks", () =>
        {
            var key = rsa.ExportParameters(includePrivateParameters: false);
            var keys = new List<object>
            {
                new { kty = "RSA", use = "sig", kid = RsaKeyId, alg = "RS256", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) },
            };
            if (publishedSecret is not null)
            {
                keys.Add(new { kty = "oct", use = "sig", kid = "hmac-key", alg = "HS256", k = Base64UrlEncoder.Encode(publishedSecret) });
            }

            return Results.Json(new { keys });
        });
        app.MapPost("/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            if (form["grant_type"] != "client_credentials" || form["client_id"] != ClientId || form["client_secret"] != ClientSecret)
            {
                return Results.Json(new { error = "invalid_client" }, statusCode: StatusCodes.Status401Unauthorized);
            }

            provider.TokensIssued++;
            var scopes = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return Results.Json(new { access_token = provider.Mint(ClientId, scopes), token_type = "Bearer", expires_in = 300 });
        });
        await app.StartAsync();
        return provider;
    }

    public HttpMessageHandler CreateHandler() => _app.GetTestServer().CreateHandler();

    /// <summary>What makes a service trust this provider: Auth:Authority, metadata over plain HTTP.</summary>
    public Dictionary<string, string?> AuthoritySettings() => new() { ["Auth:Authority"] = Authority, ["Auth:RequireHttpsMetadata"] = "false" };

    /// <summary>Sends the service's discovery and JWKS requests to this in-memory provider (after AddServiceDefaults).</summary>
    public void ServeMetadataTo(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpClient(Auth.HttpClientName).ConfigurePrimaryHttpMessageHandler(CreateHandler);
    }

    /// <summary>An RS256 token from this provider (or, with <paramref name="signingKey"/>, from an impostor) for audience "contoso-retail".</summary>
    public string Mint(string subject, IEnumerable<string> scopes, string? issuer = null, RSA? signingKey = null) =>
        Sign(subject, scopes, new RsaSecurityKey(signingKey ?? Rsa) { KeyId = RsaKeyId }, SecurityAlgorithms.RsaSha256, issuer ?? Authority);

    /// <summary>Key confusion: an HS256 token whose HMAC key is the provider's public key, as an attacker could make.</summary>
    public string MintWithPublicKeyAsHmacSecret(string subject, IEnumerable<string> scopes) =>
        MintWithPublicKeyAsSecret(subject, scopes, Rsa.ExportSubjectPublicKeyInfo(), Authority);

    /// <summary>HS256 with the key a hostile provider's JWKS publishes: what an attacker makes after reading the JWKS.</summary>
    public string MintWithPublishedSecret(string subject, IEnumerable<string> scopes) =>
        Sign(
            subject,
            scopes,
            new SymmetricSecurityKey(PublishedSecret ?? throw new InvalidOperationException("Only a hostile provider publishes a secret.")) { KeyId = "hmac-key" },
            SecurityAlgorithms.HmacSha256,
            Authority);

    /// <summary>HS256 whose HMAC secret is some encoding of an RSA public key (the classic key confusion).</summary>
    public static string MintWithPublicKeyAsSecret(string subject, IEnumerable<string> scopes, byte[] publicKeyEncoding, string issuer = HostileIssuer) =>
        Sign(subject, scopes, new SymmetricSecurityKey(publicKeyEncoding) { KeyId = RsaKeyId }, SecurityAlgorithms.HmacSha256, issuer);

    /// <summary>The encodings of the public key an attacker would try as an HMAC secret.</summary>
    public IEnumerable<(string Name, byte[] Bytes)> PublicKeyEncodings()
    {
        yield return ("SubjectPublicKeyInfo DER", Rsa.ExportSubjectPublicKeyInfo());
        yield return ("PKCS#1 DER", Rsa.ExportRSAPublicKey());
        yield return ("PEM text", System.Text.Encoding.ASCII.GetBytes(Rsa.ExportSubjectPublicKeyInfoPem()));
        yield return ("modulus", Rsa.ExportParameters(false).Modulus!);
    }

    public static string Sign(string subject, IEnumerable<string> scopes, SecurityKey key, string algorithm, string issuer = HostileIssuer) =>
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
