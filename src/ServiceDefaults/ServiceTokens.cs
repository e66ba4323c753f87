using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Serialization;

using Contoso.Retail.Contracts.Auth;

using Grpc.Core;

using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// This service's own bearer tokens for calls to other services, cached per scope set and renewed before they
/// run out. With Auth:DevSigningKey it mints them (subject Auth:ClientId or the application name); with
/// Auth:Authority it asks the token endpoint for OAuth2 client credentials (Auth:ClientId, Auth:ClientSecret).
/// </summary>
public sealed class ServiceTokens(
    AuthOptions options,
    IHostEnvironment environment,
    TimeProvider time,
    IHttpClientFactory httpClients,
    ConfigurationManager<OpenIdConnectConfiguration>? authority = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, Token> _tokens = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private readonly string? _configuredScopes = options.ServiceScopes is { } scopes
        ? string.Join(' ', scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries)) is { Length: > 0 } normalized ? normalized : null
        : null;

    /// <summary>A token for a call to a method that requires <paramref name="methodScope"/> (used when Auth:ServiceScopes is empty).</summary>
    public ValueTask<string> GetAsync(string? methodScope, CancellationToken cancellationToken)
    {
        var scopes = _configuredScopes ?? methodScope ?? "";
        return _tokens.TryGetValue(scopes, out var token) && token.RenewAt > time.GetUtcNow()
            ? ValueTask.FromResult(token.Value)
            : new ValueTask<string>(RenewAsync(scopes, cancellationToken));
    }

    public void Dispose() => _renewing.Dispose();

    private async Task<string> RenewAsync(string scopes, CancellationToken cancellationToken)
    {
        await _renewing.WaitAsync(cancellationToken);
        try
        {
            // Another call may have renewed it while this one waited.
            if (_tokens.TryGetValue(scopes, out var current) && current.RenewAt > time.GetUtcNow())
            {
                return current.Value;
            }

            var token = options.DevSigningKey is { } key ? Mint(key, scopes) : await RequestAsync(scopes, cancellationToken);
            _tokens[scopes] = token;
            return token.Value;
        }
        finally
        {
            _renewing.Release();
        }
    }

    private Token Mint(string key, string scopes)
    {
        var now = time.GetUtcNow();
        var lifetime = options.ServiceTokenLifetime;
        var value = DevTokens.Mint(
            key, options.EffectiveIssuer!, options.Audience, options.ClientId ?? environment.ApplicationName,
            scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), lifetime, now.UtcDateTime);
        return new Token(value, now + (lifetime * 0.8));
    }

    private async Task<Token> RequestAsync(string scopes, CancellationToken cancellationToken)
    {
        if (options.ClientId is not { Length: > 0 } clientId || options.ClientSecret is not { Length: > 0 } clientSecret)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                "This service has no credentials for calling other services: set Auth:ClientId and Auth:ClientSecret."));
        }

        var discovery = await authority!.GetConfigurationAsync(cancellationToken);
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = clientSecret,
        };
        if (scopes.Length > 0)
        {
            form["scope"] = scopes;
        }

        var now = time.GetUtcNow();
        using var client = httpClients.CreateClient(Auth.HttpClientName);
        using var content = new FormUrlEncodedContent(form);
        using var response = await client.PostAsync(new Uri(discovery.TokenEndpoint), content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"The token endpoint refused this service's client credentials ({(int)response.StatusCode})."));
        }

        var body = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken);
        if (body?.AccessToken is not { Length: > 0 } accessToken)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The token endpoint answered without an access_token."));
        }

        var lifetime = TimeSpan.FromSeconds(body.ExpiresIn > 0 ? body.ExpiresIn : 300);
        return new Token(accessToken, now + (lifetime * 0.8));
    }

    private sealed record Token(string Value, DateTimeOffset RenewAt);

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("expires_in")] int ExpiresIn);
}
