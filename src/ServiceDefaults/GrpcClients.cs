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

public static partial class GrpcClients
{
    /// <summary>
    /// A typed client for server-to-server calls to Services:{serviceName} (http(s)://, dns:/// or static:/// target,
    /// see <see cref="ServiceAddress"/>): deadline, correlation id, safe retries, circuit breaker, service token.
    /// Settings: "GrpcClients", overridable under "GrpcClients:{serviceName}" (<see cref="GrpcClientOptions"/>).
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
                o, ServiceAddress(configuration[$"Services:{serviceName}"], serviceName), Options(sp, serviceName)))
            // No HttpClientFactory request logging: it opens a logging scope for every HTTP request underneath a gRPC call
            // and logs at Information, which the services keep off for System.Net.Http; a failed call reaches the
            // calling handler (and RetryClientInterceptor's log) as an RpcException, and its span is traced.
            .RemoveAllLoggers();

        // PostConfigure runs after every ConfigureChannel, so no later channel setting can turn the
        // channel's own retries back on underneath the interceptor's (retries would multiply).
        services.PostConfigure<GrpcClientFactoryOptions>(client.Name, o => o.ChannelOptionsActions.Add(DisableChannelRetries));

        // The client factory creates a client's channel on first use, and concurrent first uses race: each builds a
        // channel on the one pooled handler, and with a balanced (dns/static) address every channel after the first
        // finds the handler's ConnectCallback taken and throws (the first calls of a burst failed with INTERNAL). One
        // resolution as the host starts, before Kestrel takes calls, creates and caches the channel alone.
        services.AddHostedService(sp => new ChannelWarmUp(() =>
        {
            using var scope = sp.CreateScope();
            _ = scope.ServiceProvider.GetRequiredService<TClient>();
        }));
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

    private sealed class ChannelWarmUp(Action createChannel) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            createChannel();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
