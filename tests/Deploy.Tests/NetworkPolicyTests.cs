using System.Globalization;

using Contoso.Retail.Deploy.Tests.Support;

using k8s.Models;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>
/// The NetworkPolicies, evaluated as a cluster would: default deny, then only the listed flows. NetworkPolicy is L4;
/// which RPCs a caller may use on an allowed port is the auth interceptor's scope check (deploy/README.md).
/// </summary>
public sealed class NetworkPolicyTests
{
    /// <summary>A pod as policies see it: its namespace's labels and its own.</summary>
    private sealed record Peer(string Namespace, IDictionary<string, string> Labels)
    {
        public IDictionary<string, string> NamespaceLabels { get; } = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = Namespace };
    }

    private static readonly Peer Outsider = new("somewhere-else", new Dictionary<string, string> { ["app"] = "curious" });

    public static TheoryData<string> Overlays => KubernetesManifestTests.Overlays;

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Everything_is_denied_unless_a_policy_allows_it(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        Assert.Contains(rendered.OfKind<V1NetworkPolicy>(), p =>
            p.Spec.PodSelector.MatchLabels is null or { Count: 0 } && p.Spec.PodSelector.MatchExpressions is null or { Count: 0 }
            && p.Spec.PolicyTypes.Contains("Ingress") && p.Spec.PolicyTypes.Contains("Egress")
            && p.Spec.Ingress is null or { Count: 0 } && p.Spec.Egress is null or { Count: 0 });
        foreach (var (service, _) in rendered.ServiceDeployments)
        {
            var pod = Pod(rendered, service.Name);
            // Nothing from another namespace reaches the management port, except Prometheus' namespace.
            Assert.False(IngressAllowed(rendered, Outsider, pod, service.ManagementPort), $"{overlay}: anyone may reach {service}'s management port");
            Assert.True(IngressAllowed(rendered, new Peer("monitoring", new Dictionary<string, string>()), pod, service.ManagementPort),
                $"{overlay}: Prometheus cannot scrape {service}");
            // Every service resolves names and reaches its database and the collector.
            Assert.True(EgressAllowed(rendered, pod, new Peer("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }), 53, "UDP"),
                $"{overlay}: {service} cannot resolve names");
            Assert.True(EgressAllowed(rendered, pod, new Peer(Rendered.Namespace, new Dictionary<string, string> { ["app.kubernetes.io/name"] = "postgres" }), 5432),
                $"{overlay}: {service} cannot reach PostgreSQL");
            Assert.True(EgressAllowed(rendered, pod, new Peer("observability", new Dictionary<string, string>()), 4317),
                $"{overlay}: {service} cannot export OTLP");
            Assert.False(EgressAllowed(rendered, pod, Outsider, 8080), $"{overlay}: {service} may connect anywhere");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Only_Orders_may_open_connections_to_Inventorys_grpc_port(string overlay)
    {
        Assert.SkipUnless(DeployedService.All.Contains(DeployedService.Orders), "this solution has no Orders service");
        var rendered = await Rendered.OverlayAsync(overlay);
        var inventory = Pod(rendered, DeployedService.Inventory.Name);
        var orders = Pod(rendered, DeployedService.Orders.Name);
        var port = DeployedService.Inventory.GrpcPort;

        Assert.True(IngressAllowed(rendered, orders, inventory, port), $"{overlay}: Inventory does not admit Orders");
        Assert.True(EgressAllowed(rendered, orders, inventory, port), $"{overlay}: Orders may not connect to Inventory");

        var others = rendered.Deployments.Select(d => d.Spec.Template)
            .Concat(rendered.OfKind<V1StatefulSet>().Select(s => s.Spec.Template))
            .Where(t => t.Metadata.Labels["app.kubernetes.io/name"] != DeployedService.Orders.Name)
            .Select(t => new Peer(Rendered.Namespace, t.Metadata.Labels))
            .Append(Outsider);
        foreach (var other in others)
        {
            Assert.False(IngressAllowed(rendered, other, inventory, port),
                $"{overlay}: {other.Namespace}/{string.Join(',', other.Labels.Select(kv => $"{kv.Key}={kv.Value}"))} may call Inventory");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Public_services_accept_clients_on_their_grpc_and_rest_ports_and_inventory_on_neither(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        foreach (var service in DeployedService.All.Where(s => s != DeployedService.Inventory))
        {
            Assert.True(IngressAllowed(rendered, Outsider, Pod(rendered, service.Name), service.GrpcPort), $"{overlay}: clients cannot reach {service}");
            Assert.True(IngressAllowed(rendered, Outsider, Pod(rendered, service.Name), service.WebPort), $"{overlay}: REST clients cannot reach {service}");
        }

        var inventory = Pod(rendered, DeployedService.Inventory.Name);
        Assert.False(IngressAllowed(rendered, Outsider, inventory, DeployedService.Inventory.WebPort), $"{overlay}: anyone may call Inventory over REST");
    }

    private static Peer Pod(Rendered rendered, string name) =>
        new(Rendered.Namespace, rendered.Deployments.Single(d => d.Metadata.Name == name).Spec.Template.Metadata.Labels);

    private static bool IngressAllowed(Rendered rendered, Peer from, Peer to, int port, string protocol = "TCP") =>
        Allowed(rendered, to, "Ingress", p => p.Spec.Ingress?.Select(r => ((IList<V1NetworkPolicyPeer>?)r.FromProperty, (IList<V1NetworkPolicyPort>?)r.Ports)), from, port, protocol);

    private static bool EgressAllowed(Rendered rendered, Peer from, Peer to, int port, string protocol = "TCP") =>
        Allowed(rendered, from, "Egress", p => p.Spec.Egress?.Select(r => ((IList<V1NetworkPolicyPeer>?)r.To, (IList<V1NetworkPolicyPort>?)r.Ports)), to, port, protocol);

    /// <summary>
    /// Kubernetes semantics: a pod not selected by any policy of a direction is open in that direction; once selected,
    /// a connection is allowed when some rule of some selecting policy matches both the peer and the port.
    /// </summary>
    private static bool Allowed(
        Rendered rendered,
        Peer subject,
        string direction,
        Func<V1NetworkPolicy, IEnumerable<(IList<V1NetworkPolicyPeer>? Peers, IList<V1NetworkPolicyPort>? Ports)>?> rules,
        Peer other,
        int port,
        string protocol)
    {
        var policies = rendered.OfKind<V1NetworkPolicy>()
            .Where(p => subject.Namespace == Rendered.Namespace && Matches(p.Spec.PodSelector, subject.Labels))
            .Where(p => (p.Spec.PolicyTypes ?? ["Ingress"]).Contains(direction))
            .ToList();
        if (policies.Count == 0)
        {
            return true;
        }

        return policies.SelectMany(p => rules(p) ?? []).Any(rule =>
            (rule.Ports is null or { Count: 0 } || rule.Ports.Any(p => PortMatches(p, port, protocol)))
            && (rule.Peers is null or { Count: 0 } || rule.Peers.Any(peer => PeerMatches(peer, other))));
    }

    private static bool PortMatches(V1NetworkPolicyPort rule, int port, string protocol) =>
        (rule.Protocol ?? "TCP") == protocol
        && (rule.Port is null || rule.Port.Value == port.ToString(CultureInfo.InvariantCulture)
            || (rule.EndPort is { } end && int.TryParse(rule.Port.Value, out var start) && port >= start && port <= end));

    private static bool PeerMatches(V1NetworkPolicyPeer peer, Peer other)
    {
        if (peer.IpBlock is not null)
        {
            return true; // an address range may contain anything
        }

        var namespaceMatches = peer.NamespaceSelector is null
            ? other.Namespace == Rendered.Namespace
            : Matches(peer.NamespaceSelector, other.NamespaceLabels);
        return namespaceMatches && (peer.PodSelector is null || Matches(peer.PodSelector, other.Labels));
    }

    private static bool Matches(V1LabelSelector selector, IDictionary<string, string> labels) =>
        (selector.MatchLabels ?? new Dictionary<string, string>()).All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new NotSupportedException(e.OperatorProperty),
        });
}
