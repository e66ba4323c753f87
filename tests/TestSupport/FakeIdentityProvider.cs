using System.Security.Cryptography;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// A stand-in for a production OIDC provider (no real one can run here): discovery document, an RSA signing key
/// published as JWKS, and an OAuth2 client-credentials token endpoint, served in memory. Point a service's
/// "Contoso.Retail.Auth" HttpClient at <see cref="CreateHandler"/> and set Auth:Authority to <see cref="Issuer"/>.
/// </summary>
public sealed class FakeIdentityProvider : IAsyncDisposable
{
    public const string Issuer = "http://idp.test";
    public const string ClientId = "orders-service";
    public const string ClientSecret = "orders-secret";

    private readonly WebApplication _app;

    private FakeIdentityProvider(WebApplication app, RSA rsa)
    {
        _app = app;
        Rsa = rsa;
    }

    /// <summary>The key the provider signs with; its public half is in the JWKS.</summary>
    public RSA Rsa { get; }

    /// <summary>Client-credentials requests answered so far.</summary>
    public int TokensIssued { get; private set; }

    public static async Task<FakeIdentityProvider> StartAsync()
    {
        var rsa = RSA.Create(2048);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseTestServer();
        var app = builder.Build();
        var provider = new FakeIdentityProvider(app, rsa);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["jwks_uri"] = $"{Issuer}/jwks",
            ["token_endpoint"] = $"{Issuer}/token",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/jwks", () =>
        {
            var key = rsa.ExportParameters(includePrivateParameters: false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", kid = "test-key", alg = "RS256", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) } } });
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

    /// <summary>An RS256 token from this provider for audience "retail".</summary>
    public string Mint(string subject, IEnumerable<string> scopes, string issuer = Issuer, RSA? signingKey = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "retail",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = string.Join(' ', scopes) },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signingKey ?? Rsa) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
        });

    /// <summary>Key confusion: an HS256 token whose HMAC key is the provider's public key, as an attacker could make.</summary>
    public string MintWithPublicKeyAsHmacSecret(string subject, IEnumerable<string> scopes) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = "retail",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = string.Join(' ', scopes) },
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Rsa.ExportSubjectPublicKeyInfo()) { KeyId = "test-key" }, SecurityAlgorithms.HmacSha256),
        });

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Rsa.Dispose();
    }
}
