using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.ServiceDefaults.Interceptors;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>The "Auth" configuration section.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The "iss" tokens must carry. Default "contoso-retail-dev" with a DevSigningKey; the discovered issuer with an Authority.</summary>
    public string? Issuer { get; set; }

    /// <summary>The "aud" tokens must carry.</summary>
    public string Audience { get; set; } = DevTokens.DefaultAudience;

    /// <summary>Development only: base64 HS256 key (at least 32 bytes) that tokens are signed with. Refused in Production.</summary>
    public string? DevSigningKey { get; set; }

    /// <summary>Production: the OIDC issuer URL; signing keys and the token endpoint come from its discovery document.</summary>
    public string? Authority { get; set; }

    /// <summary>Where the discovery document is, when not at {Authority}/.well-known/openid-configuration.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Only turn off for a local identity provider on plain http.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Tolerance for clocks that disagree, applied to "exp" and "nbf".</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many validated tokens are remembered (each until it expires).</summary>
    public int TokenCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Space-separated scopes this service asks for when it calls another service, e.g. "inventory.read inventory.reserve";
    /// when empty, each call asks for the scope its method requires.
    /// </summary>
    public string? ServiceScopes { get; set; }

    /// <summary>OAuth2 client credentials for service tokens from the Authority; ClientId is also the subject of minted dev service tokens.</summary>
    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>How long a service token minted with the DevSigningKey lives (renewed before it runs out).</summary>
    public TimeSpan ServiceTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The issuer to require: configured, or the development default when no Authority tells it.</summary>
    public string? EffectiveIssuer => Issuer ?? (DevSigningKey is not null ? DevTokens.DefaultIssuer : null);
}

public static class Auth
{
    /// <summary>The named HttpClient used for the Authority's discovery document, keys and token endpoint.</summary>
    public const string HttpClientName = "Contoso.Retail.Auth";

    /// <summary>
    /// JWT bearer auth for every gRPC method (<see cref="AuthInterceptor"/>) and service tokens for outgoing calls. Exactly one
    /// of Auth:DevSigningKey and Auth:Authority; a development key in Production stops the service from starting.
    /// </summary>
    /// <exception cref="InvalidOperationException">The Auth section is missing, ambiguous or unsafe for the environment.</exception>
    public static TBuilder AddDefaultAuth<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        Validate(options, builder.Environment);

        var services = builder.Services;
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(HttpClientName);
        if (options.Authority is not null)
        {
            services.AddSingleton(sp =>
                new ConfigurationManager<OpenIdConnectConfiguration>(
                    options.MetadataAddress ?? $"{options.Authority.TrimEnd('/')}/.well-known/openid-configuration",
                    new OpenIdConnectConfigurationRetriever(),
                    new HttpDocumentRetriever(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName))
                    {
                        RequireHttps = options.RequireHttpsMetadata,
                    }));
        }

        services.AddSingleton<BearerTokenValidator>();
        services.AddSingleton<AuthInterceptor>();
        services.AddSingleton<ServiceTokens>();
        services.TryAddSingleton<ServiceTokenClientInterceptor>();
        return builder;
    }

    private static void Validate(AuthOptions options, IHostEnvironment environment)
    {
        const string Help = "Set Auth:DevSigningKey (base64, development only) or Auth:Authority (the OIDC issuer URL), not both.";
        // The development key is public (it is in this repository), so anyone could mint tokens with it: only the
        // Development and Test environments may use it. Staging, Production or any other name needs an authority.
        if (!environment.IsDevelopment() && !environment.IsEnvironment("Test") && !string.IsNullOrEmpty(options.DevSigningKey))
        {
            throw new InvalidOperationException(
                $"Auth:DevSigningKey is configured in the {environment.EnvironmentName} environment: a development signing key " +
                "may only be used in Development or Test. Remove it and set Auth:Authority to your identity provider.");
        }

        (options.DevSigningKey, options.Authority) = (Blank(options.DevSigningKey), Blank(options.Authority));
        switch (options.DevSigningKey, options.Authority)
        {
            case (null, null):
                throw new InvalidOperationException($"Auth is not configured. {Help}");
            case (not null, not null):
                throw new InvalidOperationException($"Auth:DevSigningKey and Auth:Authority are both configured. {Help}");
            case (not null, null):
                try
                {
                    DevTokens.SigningKey(options.DevSigningKey);
                }
                catch (FormatException ex)
                {
                    throw new InvalidOperationException($"Auth:DevSigningKey is unusable: {ex.Message}", ex);
                }

                break;
            case (null, not null) when !Uri.TryCreate(options.Authority, UriKind.Absolute, out _):
                throw new InvalidOperationException($"Auth:Authority must be an absolute URL (got '{options.Authority}').");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            throw new InvalidOperationException("Auth:Audience must not be empty.");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
