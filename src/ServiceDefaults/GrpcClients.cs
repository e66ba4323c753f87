using System.Globalization;
using System.Net;

using Contoso.Retail.ServiceDefaults.Interceptors;

using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Grpc.Net.ClientFactory;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Polly.Registry;

namespace Contoso.Retail.ServiceDefaults;

public static class GrpcClients
{
    /// <summary>Scheme of a target re-resolved through DNS, every address balanced round-robin.</summary>
    public const string DnsScheme = "dns";

    /// <summary>Scheme of a fixed list of addresses balanced round-robin (tests, local runs).</summary>
    public const string StaticScheme = "static";

    /// <summary>
    /// A typed gRPC client for a server-to-server call to the service at Services:{serviceName}:
    /// caller deadline and cancellation propagated (or a default deadline), correlation id passed on, safe retries
    /// with a circuit breaker per downstream, service token. Settings: the "GrpcClients" section, overridable per
    /// downstream under "GrpcClients:{serviceName}" (see <see cref="GrpcClientOptions"/>).
    /// Services:{serviceName} is one of:
    /// <list type="bullet">
    /// <item><c>http://host:port</c> or <c>https://host:port</c>: one address (one HTTP/2 connection pool).</item>
    /// <item><c>dns:///host:port</c>: every address DNS returns for host (e.g. a Kubernetes headless Service),
    /// round-robin per call, re-resolved every GrpcClients:DnsRefreshInterval and whenever a connection fails.</item>
    /// <item><c>static:///host1:port1,host2:port2</c>: a fixed list, round-robin per call (tests, local runs;
    /// IPv6 as <c>[::1]:5101</c>).</item>
    /// </list>
    /// dns and static targets are cleartext HTTP/2 unless GrpcClients:{serviceName}:UseTls is true. A replica that
    /// fails leaves the rotation while it reconnects; a call that failed on it UNAVAILABLE is retried (if the contract
    /// allows) by the interceptor, and that attempt is picked onto another replica. The channel itself never retries.
    /// </summary>
    public static IHttpClientBuilder AddServiceGrpcClient<TClient>(this IHostApplicationBuilder builder, string serviceName)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResiliencePipelineRegistry<string>>();
        services.TryAddSingleton<CorrelationClientInterceptor>();
        services.TryAddSingleton<ServiceTokenClientInterceptor>();
        // Channels look their resolvers up by scheme in the DI container (http and https need none).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, StaticListResolverFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, RefreshingDnsResolverFactory>());
        services.AddOptions<GrpcClientOptions>(serviceName)
            .Bind(configuration.GetSection(GrpcClientOptions.Section))
            .Bind(configuration.GetSection($"{GrpcClientOptions.Section}:{serviceName}"))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcClientOptions>, GrpcClientOptionsValidator>());

        // Call-context propagation is applied to the call options before any interceptor runs, so the
        // interceptors below already see the incoming call's deadline and cancellation token.
        // Interceptors added with AddInterceptor run in the order added: the first is the outermost
        // (the factory builds CallInvoker.Intercept(a, b, c), which hands a call to a, then b, then c).
        var client = services
            .AddGrpcClient<TClient>(options => options.Address = ServiceAddress(configuration[$"Services:{serviceName}"], serviceName))
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true)
            // Outermost: one correlation id for the logical call, whatever happens inside.
            .AddInterceptor<CorrelationClientInterceptor>()
            // One deadline for all attempts together, so retries can never outlive it.
            .AddInterceptor(sp => new DefaultDeadlineInterceptor(
                sp.GetRequiredService<TimeProvider>(), Options(sp, serviceName).DefaultDeadline))
            // Each attempt is a fresh call through everything below this line.
            .AddInterceptor(sp => new RetryClientInterceptor(
                serviceName,
                Options(sp, serviceName),
                sp.GetRequiredService<ResiliencePipelineRegistry<string>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<RetryClientInterceptor>>()))
            // Innermost: every attempt carries a current token.
            .AddInterceptor<ServiceTokenClientInterceptor>()
            // The service token rides as call credentials; inside the cluster the channel may be cleartext HTTP/2.
            .ConfigureChannel((sp, o) =>
            {
                o.UnsafeUseInsecureChannelCallCredentials = true;
                var options = Options(sp, serviceName);
                o.InitialReconnectBackoff = options.InitialReconnectBackoff;
                o.MaxReconnectBackoff = options.MaxReconnectBackoff;
            })
            .ConfigureChannel((sp, o) => ConfigureBalancing(
                o, ServiceAddress(configuration[$"Services:{serviceName}"], serviceName), Options(sp, serviceName)));

        // PostConfigure runs after every ConfigureChannel, so no later channel setting can turn the
        // channel's own retries back on underneath the interceptor's (retries would multiply).
        services.PostConfigure<GrpcClientFactoryOptions>(client.Name, o => o.ChannelOptionsActions.Add(DisableChannelRetries));
        return client;
    }

    /// <summary>
    /// Grpc.Net.Client retries a call only when GrpcChannelOptions.ServiceConfig holds a retry or hedging policy
    /// for its method (a resolver's service config never sets one); strip any, and cap attempts at one.
    /// </summary>
    public static void DisableChannelRetries(GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.MaxRetryAttempts = 1;
        if (options.ServiceConfig is not { } serviceConfig)
        {
            return;
        }

        serviceConfig.RetryThrottling = null;
        foreach (var method in serviceConfig.MethodConfigs)
        {
            method.RetryPolicy = null;
            method.HedgingPolicy = null;
        }
    }

    private static GrpcClientOptions Options(IServiceProvider services, string serviceName) =>
        services.GetRequiredService<IOptionsMonitor<GrpcClientOptions>>().Get(serviceName);

    /// <summary>
    /// The target of Services:{serviceName}, checked: an absolute http(s) URL, <c>dns:///host:port</c> or
    /// <c>static:///host:port,host:port</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is none of those, naming the setting and the forms.</exception>
    public static Uri ServiceAddress(string? address, string serviceName)
    {
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            var valid = uri.Scheme switch
            {
                "http" or "https" => true,
                DnsScheme => uri.Authority.Length == 0 && TryParseHostPort(TargetOf(uri), out _),
                StaticScheme => uri.Authority.Length == 0 && TryParseStaticList(uri, out _),
                _ => false,
            };
            if (valid)
            {
                return uri;
            }
        }

        throw new InvalidOperationException(
            $"Services:{serviceName} must be the address of {serviceName}'s gRPC endpoint: http(s)://host:port, " +
            $"dns:///host:port (every address of host, round-robin) or static:///host:port,host:port (got '{address}').");
    }

    /// <summary>Whether calls to <paramref name="address"/> are balanced over several addresses (dns or static scheme).</summary>
    public static bool IsBalanced(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Scheme is DnsScheme or StaticScheme;
    }

    /// <summary>The addresses of a <c>static:///host:port,host:port</c> target, in order.</summary>
    /// <exception cref="InvalidOperationException">It is not a well-formed static list.</exception>
    public static IReadOnlyList<BalancerAddress> StaticAddresses(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Scheme == StaticScheme && TryParseStaticList(address, out var addresses)
            ? addresses
            : throw new InvalidOperationException($"'{address}' is not a static:///host:port,host:port list.");
    }

    /// <summary>For a balanced target: round_robin (unless the channel already names a policy) and its credentials.</summary>
    private static void ConfigureBalancing(GrpcChannelOptions channel, Uri address, GrpcClientOptions options)
    {
        if (!IsBalanced(address))
        {
            return;
        }

        // A dns or static address says nothing about TLS; inside the cluster it is cleartext HTTP/2 by default.
        channel.Credentials ??= options.UseTls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        channel.ServiceConfig ??= new ServiceConfig();
        if (channel.ServiceConfig.LoadBalancingConfigs.Count == 0)
        {
            channel.ServiceConfig.LoadBalancingConfigs.Add(new RoundRobinConfig());
        }
    }

    /// <summary>"host:port" from "dns:///host:port" (the path; percent-escapes undone).</summary>
    private static string TargetOf(Uri uri) => Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));

    private static bool TryParseStaticList(Uri uri, out List<BalancerAddress> addresses)
    {
        addresses = [];
        foreach (var part in TargetOf(uri).Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryParseHostPort(part, out var address))
            {
                return false;
            }

            addresses.Add(address);
        }

        return addresses.Count > 0;
    }

    /// <summary>"host:port", "1.2.3.4:port" or "[::1]:port"; the port is required.</summary>
    private static bool TryParseHostPort(string value, out BalancerAddress address)
    {
        address = null!;
        if (value.StartsWith('['))
        {
            if (!IPEndPoint.TryParse(value, out var ip) || ip.Port == 0)
            {
                return false;
            }

            address = new BalancerAddress(ip.Address.ToString(), ip.Port);
            return true;
        }

        var colon = value.LastIndexOf(':');
        if (colon <= 0 || value.IndexOf(':', StringComparison.Ordinal) != colon
            || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535
            || Uri.CheckHostName(value[..colon]) is UriHostNameType.Unknown or UriHostNameType.Basic)
        {
            return false;
        }

        address = new BalancerAddress(value[..colon], port);
        return true;
    }

    /// <summary>Resolves <c>static:///host:port,host:port</c> to that list.</summary>
    private sealed class StaticListResolverFactory() : ResolverFactory
    {
        private readonly StaticResolverFactory _inner = new(StaticAddresses);

        public override string Name => StaticScheme;

        public override Resolver Create(ResolverOptions options) => _inner.Create(options);
    }

    /// <summary>
    /// Resolves <c>dns:///host:port</c> every GrpcClients:DnsRefreshInterval (the library default never re-resolves
    /// on its own, so replicas added later would get no calls until a connection failed).
    /// </summary>
    private sealed class RefreshingDnsResolverFactory(IConfiguration configuration) : ResolverFactory
    {
        private readonly DnsResolverFactory _inner = new(
            configuration.GetValue($"{GrpcClientOptions.Section}:{nameof(GrpcClientOptions.DnsRefreshInterval)}", GrpcClientOptions.DefaultDnsRefreshInterval));

        public override string Name => DnsScheme;

        public override Resolver Create(ResolverOptions options) => _inner.Create(options);
    }
}

/// <summary>Settings for server-to-server gRPC clients: section "GrpcClients", overridable per downstream under "GrpcClients:{name}".</summary>
public sealed class GrpcClientOptions
{
    public const string Section = "GrpcClients";

    public static readonly TimeSpan DefaultDnsRefreshInterval = TimeSpan.FromSeconds(15);

    /// <summary>Deadline for a call whose caller set none (background work, an incoming call without a deadline).</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>For dns:/// and static:/// targets: TLS instead of cleartext HTTP/2 (http/https URLs say it themselves).</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// How often dns:/// targets are re-resolved, so new replicas get calls. Read from "GrpcClients" only (one
    /// resolver serves every downstream); a failed connection triggers a re-resolve sooner.
    /// </summary>
    public TimeSpan DnsRefreshInterval { get; set; } = DefaultDnsRefreshInterval;

    /// <summary>
    /// Wait before reconnecting to an address whose connection attempt failed; calls to it fail fast with UNAVAILABLE
    /// meanwhile. Short (the library's 1 s outlasts the retries' backoff), so one bad connection does not fail calls
    /// that a retry a moment later would have got through.
    /// </summary>
    public TimeSpan InitialReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on the reconnect wait as failures repeat (the library's 2 minutes is for clients far from their servers).</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public GrpcRetryOptions Retry { get; set; } = new();

    public GrpcCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>What is wrong with these settings, or null.</summary>
    internal string? Problem() =>
        this switch
        {
            { DefaultDeadline.Ticks: <= 0 } => "DefaultDeadline must be positive",
            { DnsRefreshInterval.Ticks: <= 0 } => "DnsRefreshInterval must be positive",
            { InitialReconnectBackoff.Ticks: <= 0 } or { MaxReconnectBackoff.Ticks: <= 0 } => "Reconnect backoffs must be positive",
            { Retry.MaxAttempts: < 1 } => "Retry:MaxAttempts must be at least 1 (1 = no retries)",
            { Retry.BaseDelay.Ticks: < 0 } or { Retry.MaxDelay.Ticks: < 0 } => "Retry delays must not be negative",
            { CircuitBreaker.FailureRatio: <= 0 or > 1 } => "CircuitBreaker:FailureRatio must be in (0, 1]",
            { CircuitBreaker.MinimumThroughput: < 2 } => "CircuitBreaker:MinimumThroughput must be at least 2",
            _ when CircuitBreaker.SamplingDuration < TimeSpan.FromMilliseconds(500)
                || CircuitBreaker.BreakDuration < TimeSpan.FromMilliseconds(500) => "CircuitBreaker durations must be at least 0.5 s",
            _ => null,
        };
}

internal sealed class GrpcClientOptionsValidator : IValidateOptions<GrpcClientOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcClientOptions options) =>
        options.Problem() is { } problem
            ? ValidateOptionsResult.Fail($"{GrpcClientOptions.Section} settings for '{name}': {problem}.")
            : ValidateOptionsResult.Success;
}

/// <summary>Section "GrpcClients:Retry". Only methods the contract marks IDEMPOTENT or NO_SIDE_EFFECTS are retried.</summary>
public sealed class GrpcRetryOptions
{
    /// <summary>Attempts in all, the first included; 1 turns retries off.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Backoff before the first retry (jittered, doubling per retry).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap on one backoff (a server's grpc-retry-pushback-ms is honoured exactly, not capped).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Section "GrpcClients:CircuitBreaker": one breaker per downstream, counting UNAVAILABLE attempts.</summary>
public sealed class GrpcCircuitBreakerOptions
{
    /// <summary>Share of attempts that were UNAVAILABLE, within <see cref="SamplingDuration"/>, that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Attempts within <see cref="SamplingDuration"/> before the ratio counts at all.</summary>
    public int MinimumThroughput { get; set; } = 10;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long calls fail fast with UNAVAILABLE before one probe call is let through.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
