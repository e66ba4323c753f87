using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Contoso.Retail.Template.Tests;

/// <summary>
/// `dotnet new grpc-microservices` with a dotted and a hyphenated name (neither containing the reference's words), each
/// with and without the telemetry ingest sample (restore skipped: BuildTests covers the restore post-action), checked file
/// by file without building.
/// </summary>
public sealed partial class InstantiationTests(TemplatePackage template)
{
    public static TheoryData<Variant> Variants =>
    [
        new Variant("Fabrikam.Shipping"),
        new Variant("Acme-Shop"),
        new Variant("Fabrikam.Shipping", Telemetry: false),
        new Variant("Acme-Shop", Telemetry: false),
    ];

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task No_trace_of_the_reference_name_remains_in_file_names_or_contents(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        var hits = tree.Find(ReferenceNamePattern());

        Assert.True(hits.Count == 0, $"'contoso' or 'retail' (any case) left in {variant}:\n{string.Join('\n', hits.Take(40))}");
    }

    [Fact]
    public async Task Each_solution_gets_its_own_project_guids_and_development_signing_key()
    {
        var variant = new Variant("Fabrikam.Shipping");
        var first = new GeneratedTree(await template.GenerateAsync(variant));
        var (secondRoot, result) = await template.InstantiateFreshAsync(variant);
        result.EnsureSuccess();
        var second = new GeneratedTree(secondRoot);
        var reference = File.ReadAllText(Contoso.Retail.TestSupport.Repository.PathOf("Services.sln"));

        HashSet<string> ProjectGuids(string sln) => ProjectGuid().Matches(sln).Select(m => m.Groups[1].Value.ToUpperInvariant()).ToHashSet();
        var (firstGuids, secondGuids, referenceGuids) = (ProjectGuids(first.Read("Services.sln")), ProjectGuids(second.Read("Services.sln")), ProjectGuids(reference));
        Assert.Equal(firstGuids.Count, secondGuids.Count);
        Assert.Empty(firstGuids.Intersect(secondGuids));
        Assert.Empty(firstGuids.Intersect(referenceGuids));

        string DevKey(GeneratedTree tree) => DevelopmentKey().Match(tree.Read("src/Contracts/Auth/DevTokens.cs")).Groups[1].Value;
        var (firstKey, secondKey) = (DevKey(first), DevKey(second));
        Assert.NotEqual(firstKey, secondKey);
        Assert.NotEqual(Contoso.Retail.Contracts.Auth.DevTokens.DevelopmentKey, firstKey);
        // Still a key the services accept (base64 of at least 32 bytes), and the same one wherever the reference has its key.
        Assert.True(Contoso.Retail.Contracts.Auth.DevTokens.SigningKey(firstKey).KeySize >= 256);
        foreach (var file in new[] { "src/Inventory/appsettings.Development.json", "src/Orders/appsettings.Development.json", "src/DevHost/appsettings.Development.json", "docker-compose.yml" })
        {
            Assert.Contains(firstKey, first.Read(file), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Template_only_files_and_build_output_are_left_out(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        string[] templateOnly = [".template.config", "template", "tests/Template.Tests", ".github/workflows/template.yml", ".git"];
        Assert.DoesNotContain(templateOnly, tree.Exists);
        Assert.DoesNotContain(tree.Files, f => BuildOutputPattern().IsMatch(f));
        Assert.DoesNotContain(Directory.EnumerateDirectories(tree.Root, "*", SearchOption.AllDirectories),
            d => Path.GetFileName(d) is "bin" or "obj" or "TestResults" or "node_modules");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Solution_lists_only_projects_that_exist_and_every_project_reference_resolves(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        var listed = (await Dotnet.RunAsync(tree.Root, TimeSpan.FromMinutes(1), "sln", "Services.sln", "list")).EnsureSuccess()
            .Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.EndsWith(".csproj", StringComparison.Ordinal))
            .Select(line => line.Replace('\\', '/'))
            .ToList();
        var projects = tree.Files.Where(f => f.EndsWith(".csproj", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(listed);
        Assert.DoesNotContain(listed, p => !tree.Exists(p));
        // Every service and test project on disk is in the solution, so `dotnet test` runs them all.
        Assert.DoesNotContain(projects, p => (p.StartsWith("src/", StringComparison.Ordinal) || p.StartsWith("tests/", StringComparison.Ordinal)) && !listed.Contains(p));
        var slnText = tree.Read("Services.sln");
        var guids = ProjectGuid().Matches(slnText).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var dangling = ConfigurationGuid().Matches(slnText).Select(m => m.Groups[1].Value).Where(g => !guids.Contains(g)).Distinct().ToList();
        Assert.True(dangling.Count == 0, $"Services.sln configures projects it does not list: {string.Join(", ", dangling)}");

        var unresolved = new List<string>();
        foreach (var project in projects)
        {
            var directory = Path.GetDirectoryName(tree.PathOf(project))!;
            foreach (var reference in XDocument.Load(tree.PathOf(project)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                if (!File.Exists(Path.GetFullPath(Path.Combine(directory, include))))
                {
                    unresolved.Add($"{project} -> {include}");
                }
            }
        }

        Assert.True(unresolved.Count == 0, $"Project references to missing projects:\n{string.Join('\n', unresolved)}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Namespaces_protos_images_and_packages_follow_the_given_name(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        Assert.Contains($"<RootNamespaceBase>{variant.NamespaceRoot}</RootNamespaceBase>", tree.Read("Directory.Build.props"), StringComparison.Ordinal);
        Assert.Contains($"option csharp_namespace = \"{variant.NamespaceRoot}.Contracts.Orders.V1\";", tree.Read("protos/orders/v1/orders.proto"), StringComparison.Ordinal);
        Assert.Contains($"namespace {variant.NamespaceRoot}.Orders", tree.Read("src/Orders/Program.cs") + tree.Read("src/Orders/Extensions/Extensions.cs"), StringComparison.Ordinal);

        // Wherever the reference solution spells the lower-case or snake form, the generated one has the new name's.
        foreach (var (path, lines) in tree.TextFiles())
        {
            var text = string.Join('\n', lines);
            var source = Path.Combine(Contoso.Retail.TestSupport.Repository.Root, path);
            if (path == "README.md" || !File.Exists(source))
            {
                continue;
            }

            var original = File.ReadAllText(source);
            if (original.Contains("contoso-retail", StringComparison.Ordinal))
            {
                Assert.True(text.Contains(variant.KebabName, StringComparison.Ordinal), $"{path}: expected '{variant.KebabName}' where the reference has contoso-retail");
            }

            if (original.Contains("contoso_retail", StringComparison.Ordinal))
            {
                Assert.True(text.Contains(variant.SnakeName, StringComparison.Ordinal), $"{path}: expected '{variant.SnakeName}' where the reference has contoso_retail");
            }

            if (original.Contains("CONTOSO_RETAIL_", StringComparison.Ordinal))
            {
                Assert.True(text.Contains(variant.UpperSnakeName + "_", StringComparison.Ordinal), $"{path}: expected '{variant.UpperSnakeName}_' where the reference has CONTOSO_RETAIL_");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Readme_is_the_generated_solutions_own_with_the_two_quick_start_commands(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        var readme = tree.Read("README.md");

        Assert.StartsWith($"# {variant.NamespaceRoot}", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet run --project src/DevHost", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet test", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet new", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("#if", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("#endif", readme, StringComparison.Ordinal);
        Assert.StartsWith("MIT License", tree.Read("LICENSE"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Telemetry_ingest_sample_is_there_or_left_out_without_dangling_references(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        if (variant.Telemetry)
        {
            Assert.True(tree.Exists("src/TelemetryIngest/TelemetryIngest.csproj"));
            Assert.True(tree.Exists("protos/telemetry/v1/telemetry.proto"));
            Assert.Contains("TelemetryIngest", tree.Read("Services.sln"), StringComparison.Ordinal);
            return;
        }

        // OpenTelemetry wiring (ServiceDefaults/Telemetry.cs) is not the sample and stays.
        Assert.True(tree.Exists("src/ServiceDefaults/Telemetry.cs"));
        var files = tree.Files.Where(f => f.Contains("elemetry", StringComparison.OrdinalIgnoreCase) && f != "src/ServiceDefaults/Telemetry.cs").ToList();
        Assert.True(files.Count == 0, $"telemetry files left:\n{string.Join('\n', files)}");
        // Known gap: bench/ (load generator scenarios, run.sh, report.py) and the report it writes, docs/benchmarks.md,
        // still name the sample; bench is not in Services.sln, so the solution builds and tests without it. Remove this
        // exception once bench/ is marked.
        var hits = tree.Find(TelemetrySamplePattern(),
            skipFile: f => f.StartsWith("bench/", StringComparison.Ordinal) || f == "docs/benchmarks.md");
        Assert.True(hits.Count == 0, $"references to the telemetry ingest sample left:\n{string.Join('\n', hits.Take(60))}");
    }

    [GeneratedRegex("contoso|retail", RegexOptions.IgnoreCase)]
    private static partial Regex ReferenceNamePattern();

    [GeneratedRegex(@"DevelopmentKey = ""([^""]+)""")]
    private static partial Regex DevelopmentKey();

    [GeneratedRegex(@"(^|/)(bin|obj|TestResults|node_modules|__pycache__)/|\.db(-shm|-wal)?$")]
    private static partial Regex BuildOutputPattern();

    [GeneratedRegex(@"^Project\(""\{[^}]+\}""\) = ""[^""]+"", ""[^""]+"", ""\{([^}]+)\}""", RegexOptions.Multiline)]
    private static partial Regex ProjectGuid();

    [GeneratedRegex(@"^\s*\{([0-9A-Fa-f-]+)\}\.", RegexOptions.Multiline)]
    private static partial Regex ConfigurationGuid();

    [GeneratedRegex(@"telemetry[-_. ]?ingest|telemetry\.v1|telemetry_pb2|_TELEMETRY_URL|--telemetry\b|telemetry\.(read|write)\b|\b51[01]3\b|ConnectionStrings(__|:)Telemetry", RegexOptions.IgnoreCase)]
    private static partial Regex TelemetrySamplePattern();
}
