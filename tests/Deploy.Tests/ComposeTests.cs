using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Deploy.Tests.Support;
using Contoso.Retail.HealthProbe;
using Contoso.Retail.TestSupport;

using YamlDotNet.RepresentationModel;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>docker-compose.yml against the apps' configuration, the Dockerfile and its support files.</summary>
public sealed class ComposeTests
{
    private readonly Compose _compose = Compose.Load();

    public static TheoryData<string> Services => [.. DeployedService.All.Select(s => s.Name)];

    [Fact]
    public async Task Docker_compose_accepts_the_file()
    {
        // docker-compose (v1, Debian's package) or the docker CLI's compose plugin (v2), whichever is here.
        string[] command = Tool.Find("docker-compose") is { } v1 ? [v1]
            : Tool.Find("docker") is { } docker && (await Tool.RunAsync(docker, ["compose", "version"], Repository.Root, TimeSpan.FromSeconds(30))).ExitCode == 0 ? [docker, "compose"]
            : [Tool.Require("docker-compose", "apt-get install docker-compose")];

        var result = await Tool.RunAsync(command[0], [.. command[1..], "-f", Repository.PathOf("docker-compose.yml"), "config", "-q"], Repository.Root, TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_listens_publishes_and_is_health_checked_on_the_apps_ports(string name)
    {
        var service = DeployedService.ByName(name);
        var compose = _compose.Service(name);
        var environment = compose.Environment;

        Assert.Equal($"http://+:{service.GrpcPort}", environment["Kestrel__Endpoints__Grpc__Url"]);
        Assert.Equal($"http://+:{service.ManagementPort}", environment["Kestrel__Endpoints__Management__Url"]);
        Assert.Equal($"http://+:{service.WebPort}", environment["Kestrel__Endpoints__Web__Url"]);
        Assert.Equal(
            [(service.GrpcPort, service.GrpcPort), (service.ManagementPort, service.ManagementPort), (service.WebPort, service.WebPort)], compose.Ports);

        // The health check runs inside the chiseled image (no shell): the probe the Dockerfile copies to /probe.
        Assert.Equal(["CMD", "dotnet", $"/probe/{typeof(Probe).Assembly.GetName().Name}.dll", $"grpc://127.0.0.1:{service.GrpcPort}"], compose.HealthCheck);
        Assert.Contains(Dockerfile.Load()["runtime"].All("COPY"), c => c.EndsWith(" /probe", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_environment_holds_only_settings_the_app_reads(string name)
    {
        var service = DeployedService.ByName(name);

        var problems = _compose.Service(name).Environment.Keys.Select(key => KnownSettings.Problem(service, key)).OfType<string>().ToList();

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_is_the_Dockerfile_target_of_its_name_hardened_and_started_after_its_dependencies(string name)
    {
        var service = DeployedService.ByName(name);
        var compose = _compose.Service(name);

        Assert.Equal(service.Image, compose.Image);
        var build = compose.Map("build")!;
        Assert.Equal(".", Compose.Scalar(build, "context"));
        Assert.Equal(service.Name, Compose.Scalar(build, "target"));
        Assert.Equal("true", Compose.Scalar(compose.Node, "read_only"));
        Assert.Equal(["/tmp"], Compose.Sequence(compose.Node, "tmpfs"));
        Assert.Equal(["ALL"], Compose.Sequence(compose.Node, "cap_drop"));
        Assert.Equal("service_healthy", compose.DependsOnCondition("postgres"));
        if (service == DeployedService.Orders)
        {
            Assert.Equal("service_healthy", compose.DependsOnCondition(DeployedService.Inventory.Name));
            Assert.Equal($"http://{DeployedService.Inventory.Name}:{DeployedService.Inventory.GrpcPort}", compose.Environment["Services__Inventory"]);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_uses_its_own_PostgreSQL_database_created_by_an_init_script(string name)
    {
        var service = DeployedService.ByName(name);
        var environment = _compose.Service(name).Environment;

        Assert.Equal("Postgres", environment["Database__Provider"]);
        var connection = new DbConnectionStringBuilder { ConnectionString = environment[$"ConnectionStrings__{service.Database}"] };
        Assert.Equal("postgres", connection["Host"]);
        var (database, user, password) = ((string)connection["Database"], (string)connection["Username"], (string)connection["Password"]);
        var scripts = string.Join("\n", Directory.GetFiles(Repository.PathOf("deploy", "compose", "postgres-init"), "*.sql").Select(File.ReadAllText));
        Assert.Contains($"CREATE USER {user} PASSWORD '{password}';", scripts, StringComparison.Ordinal);
        Assert.Contains($"CREATE DATABASE {database} OWNER {user};", scripts, StringComparison.Ordinal);
    }

    [Fact]
    public void PostgreSQL_keeps_its_data_in_a_volume_and_reports_health_with_pg_isready()
    {
        var postgres = _compose.Service("postgres");

        Assert.Contains(Compose.Sequence(postgres.Node, "volumes"), v => Regex.IsMatch(v, @"^[a-z-]+:/var/lib/postgresql/data$"));
        Assert.Contains("./deploy/compose/postgres-init:/docker-entrypoint-initdb.d:ro", Compose.Sequence(postgres.Node, "volumes"));
        Assert.Equal("pg_isready", postgres.HealthCheck.Skip(1).First());
        Assert.Empty(postgres.Ports);
    }

    [Fact]
    public void Development_signing_key_is_the_one_the_Cli_uses_and_only_compose_has_it()
    {
        foreach (var service in DeployedService.All)
        {
            var environment = _compose.Service(service.Name).Environment;
            Assert.Equal("Development", environment["ASPNETCORE_ENVIRONMENT"]);
            Assert.Equal(DevTokens.DevelopmentKey, environment["Auth__DevSigningKey"]);
        }

        // The images leave appsettings.Development.json (and its key) out; deploy/k8s never sets one.
        var dockerfile = Dockerfile.Load();
        foreach (var service in DeployedService.All)
        {
            Assert.Contains(dockerfile[$"{service.Name}-publish"].All("RUN"), r => r.Contains("rm -f /out/app/appsettings.Development.json", StringComparison.Ordinal));
        }

        var manifests = Directory.GetFiles(Repository.PathOf("deploy", "k8s"), "*", SearchOption.AllDirectories);
        Assert.DoesNotContain(manifests, f => File.ReadAllText(f).Contains(DevTokens.DevelopmentKey, StringComparison.Ordinal)
            || File.ReadAllText(f).Contains("DevSigningKey", StringComparison.Ordinal));
    }

    [Fact]
    public void Services_export_to_the_collector_which_forwards_every_signal_to_the_dashboard()
    {
        var collector = _compose.Service("otel-collector");
        var config = Compose.LoadYaml(Repository.PathOf("deploy", "compose", "otel-collector.yaml"));
        var mount = Assert.Single(Compose.Sequence(collector.Node, "volumes"));
        Assert.StartsWith("./deploy/compose/otel-collector.yaml:", mount, StringComparison.Ordinal);
        Assert.Contains($"--config={mount.Split(':')[1]}", Compose.Sequence(collector.Node, "command"));

        // The services' OTLP endpoint is the collector's gRPC receiver.
        var receiver = (YamlMappingNode)config["receivers"]["otlp"]["protocols"]["grpc"];
        var receiverPort = int.Parse(Compose.Scalar(receiver, "endpoint")!.Split(':')[1], CultureInfo.InvariantCulture);
        foreach (var service in DeployedService.All)
        {
            Assert.Equal($"http://otel-collector:{receiverPort}", _compose.Service(service.Name).Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        }

        // Every pipeline uses defined components and ends at a compose service.
        var pipelines = (YamlMappingNode)config["service"]["pipelines"];
        Assert.Equal(["traces", "metrics", "logs"], pipelines.Children.Keys.Select(k => k.ToString()));
        foreach (var (_, pipeline) in pipelines.Children)
        {
            foreach (var kind in new[] { "receivers", "processors", "exporters" })
            {
                var defined = ((YamlMappingNode)config[kind]).Children.Keys.Select(k => k.ToString()).ToList();
                Assert.All(Compose.Sequence((YamlMappingNode)pipeline, kind), component => Assert.Contains(component, defined));
            }
        }

        foreach (var (_, exporter) in ((YamlMappingNode)config["exporters"]).Children)
        {
            var host = Compose.Scalar((YamlMappingNode)exporter, "endpoint")!.Split(':')[0];
            Assert.Contains(host, _compose.Services.Select(s => s.Name));
        }

        Assert.Contains((18888, 18888), _compose.Service("aspire-dashboard").Ports);
    }
}
