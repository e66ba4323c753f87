using Contoso.Retail.ServiceDefaults.Interceptors;

using Grpc.Net.Client;
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
    /// <summary>
    /// A typed gRPC client for a server-to-server call to the service whose gRPC URL is Services:{serviceName}:
    /// caller deadline and cancellation propagated (or a default deadline), correlation id passed on, safe retries
    /// with a circuit breaker per downstream, service token. Settings: the "GrpcClients" section, overridable per
    /// downstream under "GrpcClients:{serviceName}" (see <see cref="GrpcClientOptions"/>).
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
            .AddGrpcClient<TClient>(options => options.Address = ServiceAddress(configuration, serviceName))
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
            .ConfigureChannel(o => o.UnsafeUseInsecureChannelCallCredentials = true);

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

    private static Uri ServiceAddress(IConfiguration configuration, string serviceName)
    {
        var address = configuration[$"Services:{serviceName}"];
        return Uri.TryCreate(address, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException(
                $"Services:{serviceName} must be the absolute URL of {serviceName}'s gRPC endpoint (got '{address}').");
    }
}

/// <summary>Settings for server-to-server gRPC clients: section "GrpcClients", overridable per downstream under "GrpcClients:{name}".</summary>
public sealed class GrpcClientOptions
{
    public const string Section = "GrpcClients";

    /// <summary>Deadline for a call whose caller set none (background work, an incoming call without a deadline).</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(5);

    public GrpcRetryOptions Retry { get; set; } = new();

    public GrpcCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>What is wrong with these settings, or null.</summary>
    internal string? Problem() =>
        this switch
        {
            { DefaultDeadline.Ticks: <= 0 } => "DefaultDeadline must be positive",
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
