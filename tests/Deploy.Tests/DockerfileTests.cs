using Contoso.Retail.Deploy.Tests.Support;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>The Dockerfile's rules, checked by reading it (it cannot be built here: no Docker engine).</summary>
public sealed class DockerfileTests
{
    private readonly Dockerfile _dockerfile = Dockerfile.Load();

    public static TheoryData<string> Services => [.. DeployedService.All.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_target_runs_the_services_assembly_on_the_chiseled_runtime_as_non_root(string name)
    {
        var service = DeployedService.ByName(name);
        var target = _dockerfile[name];

        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:\d+\.\d+-[a-z]+-chiseled$", _dockerfile.BaseImage(target));
        Assert.Equal($"[\"dotnet\", \"{service.AssemblyName}.dll\"]", Assert.Single(target.All("ENTRYPOINT")));
        var user = _dockerfile.Ancestry(target).SelectMany(s => s.All("USER")).Last();
        Assert.Matches(@"^[1-9]\d*(:[1-9]\d*)?$", user);
        var publish = Assert.Single(target.All("COPY"));
        Assert.Equal($"--from={name}-publish /out/app ./", publish);
        var run = Assert.Single(_dockerfile[$"{name}-publish"].All("RUN"), r => r.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains($"dotnet publish src/{service.Project}/{service.Project}.csproj -c Release --no-restore", run, StringComparison.Ordinal);
        // ReadOnlyRootTests publishes with these flags but without ReadyToRun, so this is where that one is checked.
        var words = string.Join(' ', run.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.All(["-a \"$TARGETARCH\"", "--self-contained false", "-p:UseAppHost=false", "-p:PublishReadyToRun=true"],
            flag => Assert.Contains(flag, words, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Final_image_holds_no_SDK_and_no_sources(string name)
    {
        var target = _dockerfile[name];

        // The final stage's own FROM chain (what ends up as its layers) never includes an SDK image...
        for (var stage = target; stage is not null; stage = _dockerfile.Stages.FirstOrDefault(s => s.Name == stage.From))
        {
            Assert.DoesNotContain("sdk", stage.From, StringComparison.OrdinalIgnoreCase);
            // ...and copies only build output from other stages, never the build context.
            Assert.All(stage.All("COPY"), copy => Assert.StartsWith("--from=", copy, StringComparison.Ordinal));
            Assert.All(stage.All("COPY"), copy => Assert.Matches(@"^--from=\S+ /out/", copy));
            Assert.Empty(stage.All("RUN"));
        }
    }

    [Fact]
    public void Restore_layers_are_built_from_project_files_and_build_props_only()
    {
        var restoreStages = _dockerfile.Stages.Where(s => s.All("RUN").Any(r => r.Contains("dotnet restore", StringComparison.Ordinal))).ToList();
        Assert.Contains(restoreStages, s => s.Name == "restore");

        foreach (var stage in restoreStages)
        {
            foreach (var copy in stage.All("COPY"))
            {
                var sources = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
                Assert.All(sources, source => Assert.Matches(@"(\.csproj|^global\.json|^Directory\.(Build|Packages)\.props)$", source));
            }
        }

        // Every service restores in its own stage from the shared restore stage, before its sources arrive.
        foreach (var service in DeployedService.All)
        {
            var restore = _dockerfile[$"{service.Name}-restore"];
            Assert.Equal("restore", restore.From);
            Assert.Equal($"{service.Name}-restore", _dockerfile[$"{service.Name}-publish"].From);
        }
    }

    [Fact]
    public void Every_copied_path_exists_and_is_in_the_build_context()
    {
        var ignore = File.ReadAllLines(Repository.PathOf(".dockerignore"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal("*", ignore[0]);
        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
        var included = ignore.Where(l => l.StartsWith('!')).Select(l => l[1..]).ToList();

        var sources = _dockerfile.Stages.SelectMany(s => s.All("COPY"))
            .Where(c => !c.StartsWith("--from=", StringComparison.Ordinal))
            .SelectMany(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]);
        foreach (var source in sources)
        {
            Assert.True(File.Exists(Repository.PathOf(source)) || Directory.Exists(Repository.PathOf(source)), $"COPY {source}: no such path");
            Assert.True(included.Any(i => source == i.TrimEnd('/') || source.StartsWith(i, StringComparison.Ordinal) || source + "/" == i),
                $"COPY {source}: excluded by .dockerignore");
        }
    }

    [Fact]
    public void Every_service_project_with_a_Dockerfile_target_is_a_deployed_service()
    {
        var targets = _dockerfile.Stages.Where(s => s.All("ENTRYPOINT").Any()).Select(s => s.Name);

        Assert.Equal(DeployedService.All.Select(s => s.Name).Order(), targets.Order());
        Assert.All(_dockerfile.Stages, s => Assert.Equal(s.Name.ToLowerInvariant(), s.Name));
    }
}
