using System.Globalization;
using System.Text.RegularExpressions;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Deploy.Tests.Support;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TestSupport;

using k8s;
using k8s.Models;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>The kustomize overlays, rendered and parsed into typed objects, against what the services need.</summary>
public sealed partial class KubernetesManifestTests
{
    public static TheoryData<string> Overlays => new() { "dev", "prod" };

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_renders_into_typed_objects_in_one_namespace_with_the_product_label(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        Assert.NotEmpty(rendered.Objects);
        foreach (var resource in rendered.Objects.Cast<IKubernetesObject<V1ObjectMeta>>())
        {
            var what = $"{resource.Kind}/{resource.Metadata.Name}";
            Assert.True(resource.Metadata.Labels?.TryGetValue(Rendered.PartOf, out var partOf) == true && partOf == "contoso-retail",
                $"{overlay}: {what} lacks {Rendered.PartOf}: contoso-retail");
            if (resource is V1Namespace ns)
            {
                Assert.Equal(Rendered.Namespace, ns.Metadata.Name);
            }
            else
            {
                Assert.True(resource.Metadata.NamespaceProperty == Rendered.Namespace, $"{overlay}: {what} is not in {Rendered.Namespace}");
            }
        }

        Assert.Equal(DeployedService.All.Select(s => s.Name), rendered.ServiceDeployments.Select(d => d.Deployment.Metadata.Name));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_service_has_native_grpc_probes_on_the_port_the_app_listens_on(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            var environment = rendered.Environment(container);

            // The ports the app binds: appsettings.json's, with the host widened by the Kestrel endpoint variables.
            Assert.Equal(service.GrpcPort, UrlPort(environment, "Kestrel__Endpoints__Grpc__Url", service));
            Assert.Equal(service.ManagementPort, UrlPort(environment, "Kestrel__Endpoints__Management__Url", service));
            Assert.Equal(service.GrpcPort, container.Ports.Single(p => p.Name == "grpc").ContainerPort);
            Assert.Equal(service.ManagementPort, container.Ports.Single(p => p.Name == "management").ContainerPort);
            Assert.Equal(service.WebPort, UrlPort(environment, "Kestrel__Endpoints__Web__Url", service));
            Assert.Equal(service.WebPort, container.Ports.Single(p => p.Name == "web").ContainerPort);

            Assert.Equal(service.GrpcPort, container.LivenessProbe?.Grpc?.Port);
            Assert.Equal("liveness", container.LivenessProbe!.Grpc.Service);
            Assert.Equal(service.GrpcPort, container.ReadinessProbe?.Grpc?.Port);
            Assert.True(string.IsNullOrEmpty(container.ReadinessProbe!.Grpc.Service), $"{service}: readiness is grpc.health.v1 service \"\"");
            Assert.Equal(service.GrpcPort, container.StartupProbe?.Grpc?.Port);
            Assert.Equal("liveness", container.StartupProbe!.Grpc.Service);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_container_is_non_root_read_only_without_capabilities_and_has_resources(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);
        var pods = rendered.Deployments.Select(d => (d.Metadata.Name, d.Spec.Template.Spec))
            .Concat(rendered.OfKind<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template.Spec)))
            .ToList();
        Assert.NotEmpty(pods);

        foreach (var (name, pod) in pods)
        {
            Assert.True(pod.SecurityContext?.RunAsNonRoot == true, $"{overlay}: {name} pod is not runAsNonRoot");
            Assert.True(pod.SecurityContext.RunAsUser is > 0, $"{overlay}: {name} pod has no non-root runAsUser");
            Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile?.Type);
            Assert.False(pod.AutomountServiceAccountToken ?? true, $"{overlay}: {name} mounts a service account token it never uses");
            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var what = $"{overlay}: {name}/{container.Name}";
                var security = container.SecurityContext;
                Assert.True(security?.ReadOnlyRootFilesystem == true, $"{what}: root filesystem is writable");
                Assert.True(security.AllowPrivilegeEscalation == false, $"{what}: allows privilege escalation");
                Assert.True(security.Capabilities?.Drop?.Contains("ALL") == true, $"{what}: does not drop ALL capabilities");
                Assert.True(security.Capabilities.Add is null or { Count: 0 }, $"{what}: adds capabilities");
                Assert.False(security.Privileged ?? false, $"{what}: privileged");
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    Assert.True(container.Resources?.Requests?.ContainsKey(resource) == true, $"{what}: no {resource} request");
                    Assert.True(container.Resources.Limits?.ContainsKey(resource) == true, $"{what}: no {resource} limit");
                }

                Assert.DoesNotContain(":latest", container.Image, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task A_cpu_limit_comes_with_a_processor_count_dotnet_can_use(string overlay)
    {
        // /work/shared performance notes: under a 1-CPU limit .NET sees one processor and serves about half of what
        // the core can; DOTNET_PROCESSOR_COUNT=2 restores it. Rule: at least 2, and at least the limit.
        var rendered = await Rendered.OverlayAsync(overlay);

        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var container = deployment.Spec.Template.Spec.Containers[0];
            var limit = (double)container.Resources.Limits["cpu"].ToDecimal();
            Assert.True(rendered.Environment(container).TryGetValue("DOTNET_PROCESSOR_COUNT", out var configured),
                $"{overlay}: {service} has a CPU limit of {limit} but no DOTNET_PROCESSOR_COUNT");
            var count = int.Parse(configured!, CultureInfo.InvariantCulture);
            Assert.True(count >= Math.Max(2, Math.Ceiling(limit)), $"{overlay}: {service}: DOTNET_PROCESSOR_COUNT={count} with a CPU limit of {limit}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Termination_grace_period_outlasts_the_apps_drain_and_shutdown_timeout(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);
        var (timeout, drain) = LifetimeDefaults();

        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var environment = rendered.Environment(deployment.Spec.Template.Spec.Containers[0]);
            var serviceTimeout = environment.TryGetValue("Shutdown__Timeout", out var t) ? TimeSpan.Parse(t!, CultureInfo.InvariantCulture) : timeout;
            var serviceDrain = environment.TryGetValue("Shutdown__DrainDelay", out var d) ? TimeSpan.Parse(d!, CultureInfo.InvariantCulture) : drain;
            var grace = TimeSpan.FromSeconds(deployment.Spec.Template.Spec.TerminationGracePeriodSeconds ?? 30);
            Assert.True(grace > serviceTimeout + serviceDrain,
                $"{overlay}: {service}: terminationGracePeriodSeconds {grace.TotalSeconds} <= Shutdown:Timeout {serviceTimeout.TotalSeconds} + Shutdown:DrainDelay {serviceDrain.TotalSeconds}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_environment_variable_is_a_setting_the_app_reads(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        var problems = rendered.ServiceDeployments
            .SelectMany(d => rendered.Environment(d.Deployment.Spec.Template.Spec.Containers[0]).Keys
                .Select(key => KnownSettings.Problem(d.Service, key)))
            .OfType<string>()
            .ToList();

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Each_service_gets_its_database_from_a_Secret_and_no_Secret_or_dev_key_is_committed(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        Assert.Empty(rendered.OfKind<V1Secret>());
        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var container = deployment.Spec.Template.Spec.Containers[0];
            var connection = Assert.Single(container.Env, e => e.Name == $"ConnectionStrings__{service.Database}");
            Assert.NotNull(connection.ValueFrom?.SecretKeyRef);
            var environment = rendered.Environment(container);
            Assert.Equal("Postgres", environment["Database__Provider"]);
            Assert.False(environment.ContainsKey("Auth__DevSigningKey"), $"{overlay}: {service} is given a development signing key");
            Assert.Equal("Production", environment["ASPNETCORE_ENVIRONMENT"]);
            Assert.False(string.IsNullOrWhiteSpace(environment["Auth__Authority"]), $"{overlay}: {service} has no Auth__Authority");
        }

        // Outside Development, Orders gets its service token with client credentials (ServiceTokens.cs).
        var orders = rendered.ServiceDeployments.SingleOrDefault(d => d.Service == DeployedService.Orders).Deployment;
        if (orders is not null)
        {
            var env = orders.Spec.Template.Spec.Containers[0].Env;
            Assert.NotNull(Assert.Single(env, e => e.Name == "Auth__ClientId").ValueFrom?.SecretKeyRef);
            Assert.NotNull(Assert.Single(env, e => e.Name == "Auth__ClientSecret").ValueFrom?.SecretKeyRef);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_Service_selects_the_pods_of_a_workload_on_ports_they_expose(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);
        var pods = rendered.Deployments.Select(d => d.Spec.Template)
            .Concat(rendered.OfKind<V1StatefulSet>().Select(s => s.Spec.Template))
            .ToList();

        foreach (var service in rendered.OfKind<V1Service>())
        {
            var selector = service.Spec.Selector;
            Assert.True(selector is { Count: > 0 }, $"{overlay}: Service {service.Metadata.Name} has no selector");
            var matched = pods.Where(p => selector.All(kv => p.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)).ToList();
            var pod = Assert.Single(matched);
            foreach (var port in service.Spec.Ports)
            {
                var target = port.TargetPort?.Value ?? port.Port.ToString(CultureInfo.InvariantCulture);
                Assert.True(pod.Spec.Containers.SelectMany(c => c.Ports).Any(p => p.Name == target || p.ContainerPort.ToString(CultureInfo.InvariantCulture) == target),
                    $"{overlay}: Service {service.Metadata.Name} port {port.Name} targets '{target}', which no container exposes");
            }
        }

        // And each Deployment's own selector matches its pod template.
        foreach (var deployment in rendered.Deployments)
        {
            Assert.All(deployment.Spec.Selector.MatchLabels, kv => Assert.Equal(kv.Value, deployment.Spec.Template.Metadata.Labels[kv.Key]));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Each_service_has_its_own_service_account_and_a_disruption_budget(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);

        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var account = deployment.Spec.Template.Spec.ServiceAccountName;
            Assert.Contains(rendered.OfKind<V1ServiceAccount>(), a => a.Metadata.Name == account && a.AutomountServiceAccountToken == false);
            var budget = Assert.Single(rendered.OfKind<V1PodDisruptionBudget>(),
                b => b.Spec.Selector.MatchLabels.All(kv => deployment.Spec.Template.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value));
            Assert.True(budget.Spec.MaxUnavailable is not null || budget.Spec.MinAvailable is not null, $"{overlay}: {service} budget allows nothing");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Orders_reaches_Inventory_through_a_headless_Service_with_a_dns_address(string overlay)
    {
        Assert.SkipUnless(DeployedService.All.Contains(DeployedService.Orders), "this solution has no Orders service");
        var rendered = await Rendered.OverlayAsync(overlay);
        var orders = rendered.ServiceDeployments.Single(d => d.Service == DeployedService.Orders).Deployment;

        var address = rendered.Environment(orders.Spec.Template.Spec.Containers[0])["Services__Inventory"];

        var match = DnsAddress().Match(address ?? "");
        Assert.True(match.Success, $"{overlay}: Services__Inventory '{address}' is not dns:///<service>.{Rendered.Namespace}.svc.cluster.local:<port>");
        Assert.Equal(Rendered.Namespace, match.Groups["namespace"].Value);
        Assert.Equal(DeployedService.Inventory.GrpcPort, int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture));
        var headless = Assert.Single(rendered.OfKind<V1Service>(), s => s.Metadata.Name == match.Groups["service"].Value);
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.Equal(DeployedService.Inventory.Name, headless.Spec.Selector["app.kubernetes.io/name"]);
        Assert.Contains(headless.Spec.Ports, p => p.Port == DeployedService.Inventory.GrpcPort);
    }

    [Fact]
    public async Task Orders_gRPC_client_accepts_the_manifests_Inventory_address()
    {
        Assert.SkipUnless(DeployedService.All.Contains(DeployedService.Orders), "this solution has no Orders service");
        var rendered = await Rendered.OverlayAsync("prod");
        var orders = rendered.ServiceDeployments.Single(d => d.Service == DeployedService.Orders).Deployment;
        var address = rendered.Environment(orders.Spec.Template.Spec.Containers[0])["Services__Inventory"];

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ServiceHosts.InventoryAddressKey] = address,
            ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey,
        });
        builder.AddDefaultAuth();
        builder.AddServiceGrpcClient<InventoryService.InventoryServiceClient>("Inventory");
        await using var app = builder.Build();

        // Building the client validates the address and sets up its resolver and balancing; nothing is dialled yet.
        Assert.NotNull(app.Services.GetRequiredService<InventoryService.InventoryServiceClient>());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Images_are_the_Dockerfile_targets_named_as_in_compose(string overlay)
    {
        var rendered = await Rendered.OverlayAsync(overlay);
        var targets = Dockerfile.Load().Stages.Select(s => s.Name).ToHashSet();

        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var image = deployment.Spec.Template.Spec.Containers[0].Image;
            var repository = image[..image.LastIndexOf(':')];
            Assert.True(repository == service.Image || repository.EndsWith("/" + service.Image, StringComparison.Ordinal),
                $"{overlay}: {service} runs {image}, not {service.Image}");
            Assert.Contains(service.Name, targets);
            Assert.Equal(service.Image, Compose.Load().Service(service.Name).Image);
        }
    }

    [Fact]
    public async Task Prod_scales_every_service_with_an_autoscaler_and_runs_no_database()
    {
        var rendered = await Rendered.OverlayAsync("prod");

        Assert.Empty(rendered.OfKind<V1StatefulSet>());
        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            Assert.True(deployment.Spec.Replicas is null, $"prod: {service} sets spec.replicas, which fights its autoscaler");
            var autoscaler = Assert.Single(rendered.OfKind<V2HorizontalPodAutoscaler>(), h => h.Spec.ScaleTargetRef.Name == service.Name);
            Assert.Equal("Deployment", autoscaler.Spec.ScaleTargetRef.Kind);
            Assert.True(autoscaler.Spec.MinReplicas >= 3, $"prod: {service} may scale below 3 replicas");
            Assert.NotNull(deployment.Spec.Template.Spec.TopologySpreadConstraints);
        }
    }

    [Fact]
    public async Task Dev_runs_a_single_PostgreSQL_StatefulSet_that_the_connection_strings_name()
    {
        var rendered = await Rendered.OverlayAsync("dev");

        var postgres = Assert.Single(rendered.OfKind<V1StatefulSet>());
        Assert.Equal(1, postgres.Spec.Replicas);
        Assert.NotEmpty(postgres.Spec.VolumeClaimTemplates);
        Assert.Contains(rendered.OfKind<V1Service>(), s => s.Metadata.Name == postgres.Spec.ServiceName);
        Assert.Empty(rendered.OfKind<V2HorizontalPodAutoscaler>());

        // The connection strings come from Secrets that ./create-dev-secrets.sh creates against this Service.
        var script = File.ReadAllText(Repository.PathOf("deploy", "k8s", "overlays", "dev", "create-dev-secrets.sh"));
        foreach (var (service, deployment) in rendered.ServiceDeployments)
        {
            var secret = deployment.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == $"ConnectionStrings__{service.Database}").ValueFrom.SecretKeyRef;
            Assert.Matches($@"secret {Regex.Escape(secret.Name)} --from-literal={Regex.Escape(secret.Key)}=""Host={Regex.Escape(postgres.Spec.ServiceName)};", script);
        }
    }

    private static int UrlPort(IReadOnlyDictionary<string, string?> environment, string key, DeployedService service)
    {
        Assert.True(environment.TryGetValue(key, out var url), $"{service}: {key} is not set, so Kestrel listens on 127.0.0.1 only");
        Assert.StartsWith("http://+:", url, StringComparison.Ordinal);
        return new Uri(url!.Replace("+", "localhost", StringComparison.Ordinal)).Port;
    }

    /// <summary>Shutdown:Timeout and the non-Development Shutdown:DrainDelay defaults, read from Lifetime.cs.</summary>
    private static (TimeSpan Timeout, TimeSpan Drain) LifetimeDefaults()
    {
        var source = File.ReadAllText(Repository.PathOf("src", "ServiceDefaults", "Lifetime.cs"));
        TimeSpan Read(string name) => TimeSpan.FromSeconds(int.Parse(
            Regex.Match(source, $@"{name}\s*=\s*TimeSpan\.FromSeconds\((\d+)\)").Groups[1].Value, CultureInfo.InvariantCulture));
        return (Read("DefaultShutdownTimeout"), Read("DefaultDrainDelay"));
    }

    [GeneratedRegex(@"^dns:///(?<service>[a-z0-9-]+)\.(?<namespace>[a-z0-9-]+)\.svc\.cluster\.local:(?<port>\d+)$")]
    private static partial Regex DnsAddress();
}
