using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Contoso.Retail.Template.Tests;

/// <summary>
/// `dotnet new grpc-microservices` with every combination of its options (telemetry ingest, benchmarks, hardening tests),
/// a dotted or a hyphenated name each (restore skipped: BuildTests covers the restore post-action), checked file by file
/// without building.
/// </summary>
public sealed partial class InstantiationTests(TemplatePackage template)
{
    public static TheoryData<Variant> Variants =>
    [
        new Variant("Fabrikam.Shipping"),
        Variant.Full("Acme-Shop"),
        new Variant("Acme-Shop", Telemetry: false),
        new Variant("Fabrikam.Shipping", Benchmarks: true),
        new Variant("Acme-Shop", HardeningTests: true),
        new Variant("Fabrikam.Shipping", Telemetry: false, Benchmarks: true),
        new Variant("Acme-Shop", Telemetry: false, HardeningTests: true),
        new Variant("Fabrikam.Shipping", Telemetry: false, Benchmarks: true, HardeningTests: true),
    ];

    /// <summary>What `--benchmarks` and `--hardening-tests` add: present exactly when asked for.</summary>
    private static readonly string[] BenchmarkParts = ["bench/run.sh", "bench/LoadGen/LoadGen.csproj", "bench/BenchServer/BenchServer.csproj", "bench/Micro/Micro.csproj", "bench/peers", "tests/Bench.Tests/Bench.Tests.csproj", "docs/benchmarks.md"];

    private static readonly string[] HardeningParts = ["tests/Reliability.Tests/Reliability.Tests.csproj", "tests/Security.Tests/Security.Tests.csproj", "docs/reliability.md", "docs/reliability/run.sh", "docs/reliability/stress.sh", "tests/TestSupport/Figures.cs"];

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
        Assert.Contains("dotnet test -- --filter-not-trait Category=Long", readme, StringComparison.Ordinal);
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
        // still name the sample when --benchmarks adds them; the benchmark projects build without it. Remove this
        // exception once bench/ is marked.
        var hits = tree.Find(TelemetrySamplePattern(),
            skipFile: f => f.StartsWith("bench/", StringComparison.Ordinal) || f == "docs/benchmarks.md");
        Assert.True(hits.Count == 0, $"references to the telemetry ingest sample left:\n{string.Join('\n', hits.Take(60))}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Benchmarks_and_hardening_tests_are_there_exactly_when_asked_for(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));
        var sln = tree.Read("Services.sln");

        foreach (var (parts, included) in new[] { (BenchmarkParts, variant.Benchmarks), (HardeningParts, variant.HardeningTests) })
        {
            var wrong = parts.Where(p => tree.Exists(p) != included).ToList();
            Assert.True(wrong.Count == 0, $"{variant}: expected {(included ? "present" : "absent")}:\n{string.Join('\n', wrong)}");
        }

        Assert.Equal(variant.Benchmarks, sln.Contains(@"bench\LoadGen\LoadGen.csproj", StringComparison.Ordinal));
        Assert.Equal(variant.Benchmarks, sln.Contains(@"tests\Bench.Tests\Bench.Tests.csproj", StringComparison.Ordinal));
        Assert.Equal(variant.HardeningTests, sln.Contains(@"tests\Reliability.Tests\Reliability.Tests.csproj", StringComparison.Ordinal));
        Assert.Equal(variant.HardeningTests, sln.Contains(@"tests\Security.Tests\Security.Tests.csproj", StringComparison.Ordinal));
        Assert.Equal(variant.Benchmarks, tree.Read("Directory.Packages.props").Contains("BenchmarkDotNet", StringComparison.Ordinal));

        // The scripts of an included part are made executable by their own chmod post-action.
        string[] scripts = [".ci/run", "protos/buf.sh", .. variant.Benchmarks ? ["bench/run.sh", "bench/decompose.sh"] : Array.Empty<string>(), .. variant.HardeningTests ? ["docs/reliability/run.sh", "docs/reliability/stress.sh"] : Array.Empty<string>()];
        var notExecutable = scripts.Where(f => !IsExecutable(tree.PathOf(f))).ToList();
        Assert.True(notExecutable.Count == 0, $"{variant}: not executable:\n{string.Join('\n', notExecutable)}");
    }

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;

    /// <summary>
    /// Nothing left in points at a part an option left out: no Markdown link to a missing file, and no document,
    /// workflow, script or project file that names a left-out part.
    /// </summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public async Task No_document_link_or_build_file_points_at_a_part_that_was_left_out(Variant variant)
    {
        var tree = new GeneratedTree(await template.GenerateAsync(variant));

        var broken = new List<string>();
        foreach (var (path, lines) in tree.TextFiles().Where(f => f.Path.EndsWith(".md", StringComparison.Ordinal)))
        {
            for (var i = 0; i < lines.Length; i++)
            {
                foreach (Match link in MarkdownLink().Matches(lines[i]))
                {
                    var target = link.Groups["target"].Value.Split('#')[0];
                    if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(tree.PathOf(path))!, Uri.UnescapeDataString(target)));
                    if (!File.Exists(resolved) && !Directory.Exists(resolved))
                    {
                        broken.Add($"{path}:{i + 1}: {link.Value}");
                    }
                }
            }
        }

        Assert.True(broken.Count == 0, $"{variant}: links to files that are not there:\n{string.Join('\n', broken)}");

        static bool IsBuildOrDocument(string f) =>
            f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".sln", StringComparison.Ordinal)
            || f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".props", StringComparison.Ordinal) || f == ".ci/run";
        var hits = new List<string>();
        if (!variant.Benchmarks)
        {
            hits.AddRange(tree.Find(BenchmarkPartsPattern(), skipFile: f => !IsBuildOrDocument(f)));
        }

        if (!variant.HardeningTests)
        {
            hits.AddRange(tree.Find(HardeningPartsPattern(), skipFile: f => !IsBuildOrDocument(f)));
        }

        Assert.True(hits.Count == 0, $"{variant}: names of left-out parts:\n{string.Join('\n', hits.Take(40))}");
    }

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"\bbench/|benchmarks\.md|Bench\.Tests|BenchmarkDotNet|HdrHistogram|LoadGen|BenchServer|--benchmarks")]
    private static partial Regex BenchmarkPartsPattern();

    [GeneratedRegex(@"Reliability\.Tests|Security\.Tests|docs/reliability|reliability\.md|--hardening-tests")]
    private static partial Regex HardeningPartsPattern();

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
