using System.Collections.Concurrent;

using Contoso.Retail.TestSupport;

using k8s;
using k8s.Models;

namespace Contoso.Retail.Deploy.Tests.Support;

/// <summary>An overlay rendered by `kubectl kustomize` and parsed into the Kubernetes client's typed models.</summary>
public sealed class Rendered(string overlay, IReadOnlyList<object> objects)
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<Rendered>>> Cache = new();

    public const string Namespace = "contoso-retail";

    public const string PartOf = "app.kubernetes.io/part-of";

    public string Overlay { get; } = overlay;

    public IReadOnlyList<object> Objects { get; } = objects;

    public IEnumerable<T> OfKind<T>() => Objects.OfType<T>();

    public IEnumerable<V1Deployment> Deployments => OfKind<V1Deployment>();

    /// <summary>The Deployments of the solution's services, one per service, in <see cref="DeployedService.All"/> order.</summary>
    public IEnumerable<(DeployedService Service, V1Deployment Deployment)> ServiceDeployments =>
        DeployedService.All.Select(service => (service, Deployments.SingleOrDefault(d => d.Metadata.Name == service.Name)
            ?? throw new Xunit.Sdk.XunitException($"{Overlay}: no Deployment named {service.Name}")));

    public V1ConfigMap ConfigMap(string name) =>
        OfKind<V1ConfigMap>().SingleOrDefault(c => c.Metadata.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"{Overlay}: no ConfigMap named {name}");

    /// <summary>
    /// Every environment variable a container gets: ConfigMaps through envFrom (their keys are the names), then env
    /// (which wins). Values from Secrets are null: they are not in the files.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment(V1Container container)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            Assert.True(source.SecretRef is null, $"{container.Name}: envFrom a Secret hides which keys it sets; use env with secretKeyRef");
            foreach (var (key, value) in ConfigMap(source.ConfigMapRef.Name).Data ?? new Dictionary<string, string>())
            {
                environment[(source.Prefix ?? "") + key] = value;
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            environment[variable.Name] = variable.ValueFrom is null ? variable.Value : null;
        }

        return environment;
    }

    public static Task<Rendered> OverlayAsync(string overlay) =>
        Cache.GetOrAdd(overlay, name => new Lazy<Task<Rendered>>(() => RenderAsync(name))).Value;

    private static async Task<Rendered> RenderAsync(string overlay)
    {
        var kubectl = Tool.Require("kubectl", "https://kubernetes.io/docs/tasks/tools/ - kubectl includes kustomize");
        var result = await Tool.RunAsync(kubectl, ["kustomize", Repository.PathOf("deploy", "k8s", "overlays", overlay)],
            Repository.Root, TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"kubectl kustomize overlays/{overlay} failed:\n{result.StdErr}");
        return new Rendered(overlay, KubernetesYaml.LoadAllFromString(result.StdOut));
    }
}
