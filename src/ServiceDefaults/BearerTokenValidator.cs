using System.Collections.Concurrent;
using System.Security.Claims;

using Contoso.Retail.Contracts.Auth;

using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Contoso.Retail.ServiceDefaults;

// Hand-written on IdentityModel's JsonWebTokenHandler, not JwtBearer + RequireAuthorization(): measured here, that
// middleware left 0.25x of the bare server's calls/s (0.5x even with a token cache); see PERFORMANCE-NOTES.
/// <summary>
/// Validates bearer JWTs (signature, issuer, audience, lifetime, expected algorithms only) and caches each valid
/// token until it expires: service tokens repeat on every call.
/// </summary>
public sealed partial class BearerTokenValidator
{
    // Asymmetric only: an identity provider signs with a private key; accepting HS* here would let anyone who
    // has the public key forge tokens.
    private static readonly string[] AuthorityAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly ConcurrentDictionary<string, CallerIdentity> _valid = new(StringComparer.Ordinal);

    // Looks a token up by the span of the authorization header it sits in, so a cached token costs no string copy.
    private readonly ConcurrentDictionary<string, CallerIdentity>.AlternateLookup<ReadOnlySpan<char>> _validBySpan;
    private readonly int _capacity;
    private readonly ILogger<BearerTokenValidator> _logger;

    public BearerTokenValidator(
        AuthOptions options,
        ILogger<BearerTokenValidator> logger,
        ConfigurationManager<OpenIdConnectConfiguration>? authority = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _validBySpan = _valid.GetAlternateLookup<ReadOnlySpan<char>>();
        _capacity = options.TokenCacheSize;
        _logger = logger;
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = options.EffectiveIssuer,
            ValidateIssuer = true,
            ValidAudience = options.Audience,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = options.ClockSkew,
            NameClaimType = JwtRegisteredClaimNames.Sub,
        };
        if (options.DevSigningKey is { } key)
        {
            _parameters.IssuerSigningKey = DevTokens.SigningKey(key);
            _parameters.ValidAlgorithms = [DevTokens.Algorithm];
        }
        else
        {
            // Keys (and the issuer, unless Auth:Issuer pins it) come from the discovery document, refreshed as it rotates.
            _parameters.ConfigurationManager = authority
                ?? throw new InvalidOperationException("Auth:Authority is configured but no OpenID Connect configuration manager is registered.");
            _parameters.ValidAlgorithms = AuthorityAlgorithms;
        }
    }

    /// <summary>The caller a token identifies, or null when the token is not acceptable (the reason is logged at Debug).</summary>
    public ValueTask<CallerIdentity?> ValidateAsync(string token)
    {
        if (_valid.TryGetValue(token, out var cached))
        {
            if (cached.ExpiresUtc > DateTime.UtcNow)
            {
                return ValueTask.FromResult<CallerIdentity?>(cached);
            }

            _valid.TryRemove(token, out _);
        }

        return new ValueTask<CallerIdentity?>(ValidateUncachedAsync(token));
    }

    /// <summary>As <see cref="ValidateAsync(string)"/>; a token that is cached and unexpired is found without copying it into a string.</summary>
    public ValueTask<CallerIdentity?> ValidateAsync(ReadOnlySpan<char> token) =>
        _validBySpan.TryGetValue(token, out var cached) && cached.ExpiresUtc > DateTime.UtcNow
            ? ValueTask.FromResult<CallerIdentity?>(cached)
            : ValidateAsync(token.ToString());

    private async Task<CallerIdentity?> ValidateUncachedAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid)
        {
            // The exception type says why (expired, bad signature, ...); its message may quote the token, so it stays out.
            var reason = result.Exception?.GetType().Name ?? "unknown";
            LogRejected(_logger, reason);
            return null;
        }

        var identity = result.ClaimsIdentity;
        var caller = CallerIdentity.Create(
            identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value ?? "",
            Scopes(identity),
            result.SecurityToken.ValidTo,
            identity);
        Remember(token, caller);
        return caller;
    }

    /// <summary>"scope" (space-separated, RFC 8693) or "scp" (a string or an array, as Entra ID and Okta send it).</summary>
    private static HashSet<string> Scopes(ClaimsIdentity identity) =>
        identity.Claims
            .Where(claim => claim.Type is "scope" or "scp")
            .SelectMany(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);

    private void Remember(string token, CallerIdentity caller)
    {
        if (_valid.Count >= _capacity)
        {
            var now = DateTime.UtcNow;
            foreach (var (key, value) in _valid)
            {
                if (value.ExpiresUtc <= now)
                {
                    _valid.TryRemove(key, out _);
                }
            }

            if (_valid.Count >= _capacity)
            {
                return; // Still full of live tokens: validate this one again next time rather than grow without bound.
            }
        }

        _valid[token] = caller;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bearer token rejected ({Reason})")]
    private static partial void LogRejected(ILogger logger, string reason);
}
