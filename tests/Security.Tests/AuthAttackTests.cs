using System.Text;

using Contoso.Retail.Contracts;
using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.TestSupport;

using Google.Protobuf;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Auth attacks on every method: forged, stale and misplaced tokens are UNAUTHENTICATED, a token without the
/// method's scope is PERMISSION_DENIED, the Orders service token reaches only what it is for, and an authority's
/// tokens cannot be forged by key confusion.
/// </summary>
public class AuthAttackTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private SecuritySystem System => fixture.System;

    private static CancellationToken Ct => SecuritySystem.Ct;

    /// <summary>Attacks beyond <see cref="AuthCases"/>: each a token no service may accept.</summary>
    public static TheoryData<string> MoreUnauthenticated() =>
    [
        "alg None (capitalised)",
        "signature stripped",
        "no exp claim",
        "issuer differing only in case",
        "audience list without ours",
        "token in grpc metadata key authorization-bin",
        "oversized garbage token (12 KB)",
    ];

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task Every_method_refuses_every_unacceptable_credential_with_UNAUTHENTICATED(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        var scope = ContractMethods.RequiredScope(method)!;
        var request = MethodSamples.ByPath[path].Valid.Select(m => m.ToByteArray()).ToArray();
        using var anonymous = host.CreateChannel(token: null);

        var cases = AuthCases.Unauthenticated().Select(row => (string)row.Data)
            .Select(name => (name, AuthCases.Headers(host, name, scope)))
            .Concat(MoreUnauthenticated().Select(row => (string)row.Data).Select(name => (name, Headers(name, scope))));
        foreach (var (name, headers) in cases)
        {
            var ex = await RawGrpc.CallForErrorAsync(anonymous, method, request, headers, Ct);
            SecurityFigures.Tally("auth.unauthenticated", name, ex?.StatusCode ?? StatusCode.OK);

            Assert.True(ex is not null, $"{path} accepted '{name}'.");
            if (headers.Any(h => h.IsBinary))
            {
                Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
            }
            else
            {
                AuthCases.AssertUnauthenticated(ex, headers);
            }
        }
    }

    [Theory]
    [MemberData(nameof(RawGrpc.AllMethodPaths), MemberType = typeof(RawGrpc))]
    public async Task A_token_with_every_scope_but_the_one_a_method_requires_is_PERMISSION_DENIED(string path)
    {
        var method = RawGrpc.Descriptor(path);
        var host = System.HostOf(method);
        var scope = ContractMethods.RequiredScope(method)!;
        using var channel = host.CreateChannel(host.MintToken([.. ContractMethods.AllScopes().Where(s => s != scope), Scopes.OrdersAdmin]));

        var ex = await RawGrpc.CallForErrorAsync(channel, method, [.. MethodSamples.ByPath[path].Valid.Select(m => m.ToByteArray())], cancellationToken: Ct);
        SecurityFigures.Tally("auth.scope-escalation", path, ex?.StatusCode ?? StatusCode.OK);

        Assert.NotNull(ex);
        AuthCases.AssertPermissionDenied(ex, scope);
    }

    [Fact]
    public async Task The_Orders_service_token_for_Inventory_reaches_only_the_methods_its_scopes_name()
    {
        // The production setting (src/Orders/appsettings.json): Orders asks for inventory.read and inventory.reserve.
        await using var system = await SecuritySystem.StartAsync(settings: new Dictionary<string, string?> { ["Auth:ServiceScopes"] = "inventory.read inventory.reserve" });
        await system.SeedAsync();
        var serviceToken = await system.Orders.Services.GetRequiredService<ServiceTokens>().GetAsync(null, Ct);
        var reached = new List<string>();

        foreach (var method in ContractMethods.All)
        {
            var path = ContractMethods.Path(method);
            var scope = ContractMethods.RequiredScope(method)!;
            using var channel = system.HostOf(method).CreateChannel(serviceToken);
            var ex = await RawGrpc.CallForErrorAsync(channel, method, [.. MethodSamples.ByPath[path].Valid.Select(m => m.ToByteArray())], cancellationToken: Ct);
            var code = ex?.StatusCode ?? StatusCode.OK;
            SecurityFigures.Tally("auth.orders-service-token", path, code);
            if (code is not (StatusCode.PermissionDenied or StatusCode.Unauthenticated))
            {
                reached.Add(path);
            }

            if (scope is "inventory.read" or "inventory.reserve")
            {
                Assert.NotEqual(StatusCode.PermissionDenied, code);
                Assert.NotEqual(StatusCode.Unauthenticated, code);
            }
            else
            {
                Assert.True(ex is not null, $"The Orders service token called {path}.");
                AuthCases.AssertPermissionDenied(ex, scope);
            }
        }

        // By name, not from the protos the checks above read: a scope moved in a proto (UpsertItem made inventory.read)
        // would hand Orders a method it never needed, and fails here.
        string[] ordersNeeds =
        [
            "/inventory.v1.InventoryService/GetItem", "/inventory.v1.InventoryService/ListItems",
            "/inventory.v1.InventoryService/ReleaseReservation", "/inventory.v1.InventoryService/ReserveStock",
            "/inventory.v1.InventoryService/WatchStock",
        ];
        Assert.Equal(ordersNeeds, reached.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_authority_that_also_publishes_an_HMAC_key_cannot_be_impersonated_with_it_or_with_its_public_key()
    {
        await using var idp = await FakeIdentityProvider.StartHostileAsync();
        await using var inventory = await StartWithAuthorityAsync(idp);
        var forged = new List<(string Name, string Token)>
        {
            ("HS256 with the HMAC key the JWKS publishes", idp.MintWithPublishedSecret("mallory", ["inventory.write"])),
        };
        forged.AddRange(idp.PublicKeyEncodings().Select(e => ($"HS256 with the public key ({e.Name}) as secret", FakeIdentityProvider.MintWithPublicKeyAsSecret("mallory", ["inventory.write"], e.Bytes))));
        forged.Add(("RS256 by another key, embedded as jwk header", EmbeddedJwk()));

        var genuine = await UpsertAsync(inventory, idp.Mint("alice", ["inventory.write"]));
        Assert.Null(genuine);
        foreach (var (name, token) in forged)
        {
            var ex = await UpsertAsync(inventory, token);
            SecurityFigures.Tally("auth.key-confusion", name, ex?.StatusCode ?? StatusCode.OK);

            Assert.True(ex is not null, $"Accepted: {name}.");
            AuthCases.AssertUnauthenticated(ex, AuthCases.Bearer(token));
        }
    }

    [Fact]
    public async Task Without_the_allowlist_IdentityModel_still_refuses_both_forgeries_so_the_authority_allowlist_is_defence_in_depth()
    {
        // Same checks as BearerTokenValidator minus its algorithm allowlist, against the hostile provider's real JWKS.
        await using var idp = await FakeIdentityProvider.StartHostileAsync();
        using var http = new HttpClient(idp.CreateHandler());
        var keys = new JsonWebKeySet(await http.GetStringAsync(new Uri($"{FakeIdentityProvider.HostileIssuer}/jwks"), Ct)).GetSigningKeys();
        var withoutAllowlist = new TokenValidationParameters
        {
            ValidIssuer = FakeIdentityProvider.HostileIssuer,
            ValidAudience = FakeIdentityProvider.Audience,
            IssuerSigningKeys = keys,
            RequireSignedTokens = true,
        };
        var handler = new JsonWebTokenHandler();

        var publishedSecret = await handler.ValidateTokenAsync(idp.MintWithPublishedSecret("mallory", ["inventory.write"]), withoutAllowlist);
        var publicKeyAsSecret = await Task.WhenAll(idp.PublicKeyEncodings()
            .Select(e => handler.ValidateTokenAsync(FakeIdentityProvider.MintWithPublicKeyAsSecret("mallory", ["inventory.write"], e.Bytes), withoutAllowlist)));

        // 1. A JWKS "oct" key never becomes a signing key (GetSigningKeys, which discovery uses, keeps RSA and EC only).
        Assert.IsType<RsaSecurityKey>(Assert.Single(keys));
        Assert.False(publishedSecret.IsValid);
        // 2. Keys are typed: an RSA key cannot verify an HMAC signature, whatever bytes the attacker used as the secret.
        Assert.All(publicKeyAsSecret, result => Assert.False(result.IsValid));
        // So no authority configuration makes the asymmetric-only allowlist the deciding guard; it stays as defence in
        // depth. With a development key it is the deciding guard (next test).
    }

    [Fact]
    public async Task A_development_key_accepts_HS256_only_though_HS384_with_the_same_key_would_verify_without_the_allowlist()
    {
        var validator = System.Inventory.Services.GetRequiredService<BearerTokenValidator>();
        var key = DevTokens.SigningKey(DevTokens.DevelopmentKey);
        string Signed(string algorithm) => FakeIdentityProvider.Sign("mallory", ["inventory.write"], key, algorithm, DevTokens.DefaultIssuer);
        var withoutAllowlist = new TokenValidationParameters
        {
            ValidIssuer = DevTokens.DefaultIssuer,
            ValidAudience = DevTokens.DefaultAudience,
            IssuerSigningKey = key,
        };

        // HS512 would need a 512-bit key and the development key has 456 bits, so IdentityModel refuses HS512 whatever
        // the allowlist says (AuthCases' "alg HS512 with the right key" cannot tell); HS384 is the case that discriminates.
        var hs384 = Signed(SecurityAlgorithms.HmacSha384);

        Assert.NotNull(await validator.ValidateAsync(Signed(SecurityAlgorithms.HmacSha256)));
        Assert.Null(await validator.ValidateAsync(hs384));
        Assert.True((await new JsonWebTokenHandler().ValidateTokenAsync(hs384, withoutAllowlist)).IsValid);
    }

    /// <summary>Headers for the attacks in <see cref="MoreUnauthenticated"/>.</summary>
    private static Metadata Headers(string name, string scope)
    {
        var now = DateTimeOffset.UtcNow;
        string Claims(string issuer = DevTokens.DefaultIssuer, string audience = $"\"{DevTokens.DefaultAudience}\"", bool exp = true) =>
            $$"""{"iss":"{{issuer}}","aud":{{audience}},"sub":"mallory","scope":"{{scope}}","nbf":{{now.ToUnixTimeSeconds()}}{{(exp ? $",\"exp\":{now.AddMinutes(5).ToUnixTimeSeconds()}" : "")}}}""";
        string Hs256(string header, string payload)
        {
            var signingInput = $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}";
            using var hmac = new global::System.Security.Cryptography.HMACSHA256(Convert.FromBase64String(DevTokens.DevelopmentKey));
            return $"{signingInput}.{Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes(signingInput)))}";
        }

        const string Hs256Header = """{"alg":"HS256","typ":"JWT"}""";
        var genuine = Hs256(Hs256Header, Claims());
        return name switch
        {
            "alg None (capitalised)" => AuthCases.Bearer($"{Base64UrlEncoder.Encode("""{"alg":"None","typ":"JWT"}""")}.{Base64UrlEncoder.Encode(Claims())}."),
            "signature stripped" => AuthCases.Bearer(genuine[..(genuine.LastIndexOf('.') + 1)]),
            "no exp claim" => AuthCases.Bearer(Hs256(Hs256Header, Claims(exp: false))),
            "issuer differing only in case" => AuthCases.Bearer(Hs256(Hs256Header, Claims(issuer: DevTokens.DefaultIssuer.ToUpperInvariant()))),
            "audience list without ours" => AuthCases.Bearer(Hs256(Hs256Header, Claims(audience: $"""["billing","{DevTokens.DefaultAudience.ToUpperInvariant()}"]"""))),
            "token in grpc metadata key authorization-bin" => new Metadata { { "authorization-bin", Encoding.ASCII.GetBytes($"Bearer {genuine}") } },
            "oversized garbage token (12 KB)" => AuthCases.Bearer(new string('A', 12 * 1024)),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
        };
    }

    /// <summary>Signed by the attacker's own key, which the header carries as "jwk" (and points to with "jku").</summary>
    private static string EmbeddedJwk()
    {
        using var attacker = global::System.Security.Cryptography.RSA.Create(2048);
        var key = new RsaSecurityKey(attacker) { KeyId = "rsa-key" };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(attacker.ExportParameters(false)) { KeyId = "rsa-key" });
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = FakeIdentityProvider.HostileIssuer,
            Audience = FakeIdentityProvider.Audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "mallory", ["scope"] = "inventory.write" },
            AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["jwk"] = new Dictionary<string, object> { ["kty"] = "RSA", ["kid"] = "rsa-key", ["n"] = jwk.N, ["e"] = jwk.E },
                ["jku"] = "http://attacker.test/jwks",
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    private static async Task<RunningService> StartWithAuthorityAsync(FakeIdentityProvider idp)
    {
        var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var settings = db.Settings("Inventory");
        foreach (var (key, value) in idp.AuthoritySettings())
        {
            settings[key] = value;
        }

        settings["Serilog:MinimumLevel:Default"] = "Error";
        return await ServiceHosts.StartInventoryAsync(new()
        {
            Transport = Transport.InMemory,
            Settings = settings,
            Configure = idp.ServeMetadataTo,
            DefaultEndpoints = false,
        });
    }

    private static async Task<RpcException?> UpsertAsync(RunningService inventory, string token)
    {
        using var channel = inventory.CreateChannel(token);
        try
        {
            await new InventoryService.InventoryServiceClient(channel).UpsertItemAsync(
                new UpsertItemRequest { Sku = "KC-1", Name = "Key confusion lamp", Available = 1 }, cancellationToken: Ct);
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }
}
