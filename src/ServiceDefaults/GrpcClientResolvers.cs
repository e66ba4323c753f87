using Grpc.Net.Client.Balancer;

using Microsoft.Extensions.Configuration;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>Resolves <c>static:///host:port,host:port</c> to that list.</summary>
internal sealed class StaticListResolverFactory() : ResolverFactory
{
    private readonly StaticResolverFactory _inner = new(GrpcClients.StaticAddresses);

    public override string Name => GrpcClients.StaticScheme;

    public override Resolver Create(ResolverOptions options) => _inner.Create(options);
}

/// <summary>
/// Resolves <c>dns:///host:port</c> every GrpcClients:DnsRefreshInterval (the library default never re-resolves
/// on its own, so replicas added later would get no calls until a connection failed).
/// </summary>
internal sealed class RefreshingDnsResolverFactory(IConfiguration configuration) : ResolverFactory
{
    private readonly DnsResolverFactory _inner = new(
        configuration.GetValue($"{GrpcClientOptions.Section}:{nameof(GrpcClientOptions.DnsRefreshInterval)}", GrpcClientOptions.DefaultDnsRefreshInterval));

    public override string Name => GrpcClients.DnsScheme;

    public override Resolver Create(ResolverOptions options) => _inner.Create(options);
}
