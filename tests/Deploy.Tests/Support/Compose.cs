using Contoso.Retail.TestSupport;

using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Contoso.Retail.Deploy.Tests.Support;

/// <summary>docker-compose.yml, read with YAML merge keys (&lt;&lt;: *anchor) resolved, as Compose reads it.</summary>
public sealed class Compose(YamlMappingNode root)
{
    public sealed record ComposeService(string Name, YamlMappingNode Node)
    {
        public string? Image => Scalar(Node, "image");

        public IReadOnlyDictionary<string, string> Environment =>
            Node.Children.TryGetValue("environment", out var env) && env is YamlMappingNode map
                ? map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? "")
                : new Dictionary<string, string>();

        /// <summary>"host:container" port mappings as (published, target).</summary>
        public IReadOnlyList<(int Published, int Target)> Ports =>
            Sequence(Node, "ports").Select(p => p.Split(':')).Select(p => (int.Parse(p[^2]), int.Parse(p[^1]))).ToList();

        public IReadOnlyList<string> HealthCheck => Node.Children.TryGetValue("healthcheck", out var hc)
            ? Sequence((YamlMappingNode)hc, "test") : [];

        public string? DependsOnCondition(string other) =>
            Node.Children.TryGetValue("depends_on", out var deps) && deps is YamlMappingNode map
            && map.Children.TryGetValue(other, out var dep) ? Scalar((YamlMappingNode)dep, "condition") : null;

        public YamlMappingNode? Map(string key) => Node.Children.TryGetValue(key, out var n) ? n as YamlMappingNode : null;
    }

    public YamlMappingNode Root { get; } = root;

    public IEnumerable<ComposeService> Services =>
        ((YamlMappingNode)Root["services"]).Children.Select(kv => new ComposeService(((YamlScalarNode)kv.Key).Value!, (YamlMappingNode)kv.Value));

    public ComposeService Service(string name) =>
        Services.SingleOrDefault(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'");

    public static Compose Load() => new(LoadYaml(Repository.PathOf("docker-compose.yml")));

    public static YamlMappingNode LoadYaml(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(reader)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? (value as YamlScalarNode)?.Value : null;

    public static IReadOnlyList<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlSequenceNode seq
            ? seq.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList()
            : [];
}
