using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Template.Tests;

/// <summary>The NuGet template package (template/Templates.csproj) and what the template makes of this repository.</summary>
public sealed partial class PackageTests(TemplatePackage template)
{
    [Fact]
    public void Package_is_a_template_package_with_dotfiles_and_without_build_output_or_template_tests()
    {
        using var package = ZipFile.OpenRead(template.PackagePath);
        var entries = package.Entries.Select(e => e.FullName).ToList();

        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        Assert.Contains(nuspec.Descendants().Where(e => e.Name.LocalName == "packageType"), e => e.Attribute("name")?.Value == "Template");
        Assert.Contains("content/.template.config/template.json", entries);
        Assert.Contains("content/.editorconfig", entries);
        Assert.Contains("content/.gitignore", entries);
        Assert.Contains("content/global.json", entries);
        Assert.Contains("content/Services.sln", entries);
        Assert.Contains("content/LICENSE", entries);
        Assert.Contains("content/.template.config/ide.host.json", entries);
        Assert.Contains("README.md", entries);
        Assert.Equal("MIT", nuspec.Descendants().Single(e => e.Name.LocalName == "license").Value);
        Assert.Equal("README.md", nuspec.Descendants().Single(e => e.Name.LocalName == "readme").Value);
        Assert.DoesNotContain(entries, e => PackageJunk().IsMatch(e));
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));
    }

    /// <summary>The package names the repository and commit it was packed from, read from git's origin at pack time.</summary>
    [Fact]
    public async Task Package_names_the_repository_url_and_commit_of_the_clone_it_was_packed_from()
    {
        const string Origin = "https://github.com/fabrikam/grpc-microservices.git";
        var timeout = TimeSpan.FromMinutes(5);
        var clone = Path.Combine(template.WorkDirectory, "pushed-clone");
        (await Dotnet.RunToolAsync("git", template.WorkDirectory, timeout, "clone", "--quiet", Repository.Root, clone)).EnsureSuccess();
        (await Dotnet.RunToolAsync("git", clone, timeout, "remote", "set-url", "origin", Origin)).EnsureSuccess();
        // The pack project as it is in this working tree, committed or not.
        File.Copy(Repository.PathOf("template", "Templates.csproj"), Path.Combine(clone, "template", "Templates.csproj"), overwrite: true);
        var head = (await Dotnet.RunToolAsync("git", clone, timeout, "rev-parse", "HEAD")).EnsureSuccess().Output.Trim();
        var packages = Path.Combine(template.WorkDirectory, "pushed-clone-package");
        (await Dotnet.RunAsync(clone, timeout, "pack", Path.Combine(clone, "template", "Templates.csproj"), "-o", packages, "--disable-build-servers")).EnsureSuccess();

        using var package = ZipFile.OpenRead(Directory.GetFiles(packages, "*.nupkg").Single());
        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
        Assert.Equal(Origin, repository.Attribute("url")?.Value);
        Assert.Equal(head, repository.Attribute("commit")?.Value);
    }

    /// <summary>
    /// `-n Contoso.Retail` with every option on must give back this repository: the same files (git's view: tracked
    /// and untracked-but-not-ignored, minus the template-only ones) with the same bytes, except template marker lines,
    /// the README, and what is fresh per solution (the development signing key, Services.sln's project GUIDs), which is
    /// mapped back before comparing. So the engine rewrote nothing it should not have (an unmarked `#if`, an MSBuild condition).
    /// </summary>
    [Fact]
    public async Task Instantiating_with_the_reference_name_reproduces_the_repository_apart_from_markers()
    {
        Tool.Require("git", "apt-get install git");
        var git = await Dotnet.RunToolAsync("git", Repository.Root, TimeSpan.FromMinutes(1), "ls-files", "-co", "--exclude-standard");
        Assert.SkipWhen(git.ExitCode != 0, "not a git checkout: " + git.Output);
        var expected = git.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(f => File.Exists(Repository.PathOf(f)) && !IsTemplateOnly(f))
            .Order(StringComparer.Ordinal)
            .ToList();

        var tree = new GeneratedTree(await template.GenerateAsync(Variant.Full("Contoso.Retail")));
        var generatedKey = DevelopmentKey().Match(tree.Read("src/Contracts/Auth/DevTokens.cs")).Groups[1].Value;
        var referenceGuids = ProjectGuidsByPath(File.ReadAllText(Repository.PathOf("Services.sln")));
        var guidsBack = ProjectGuidsByPath(tree.Read("Services.sln")).ToDictionary(p => p.Value, p => referenceGuids[p.Key]);
        string MappedBack(string line) =>
            guidsBack.Aggregate(line.Replace(generatedKey, DevTokens.DevelopmentKey, StringComparison.Ordinal),
                (text, guid) => text.Replace(guid.Key, guid.Value, StringComparison.OrdinalIgnoreCase));

        Assert.Equal(expected, tree.Files);
        var changed = new List<string>();
        foreach (var file in expected.Where(f => f != "README.md"))
        {
            var source = File.ReadAllBytes(Repository.PathOf(file));
            var generated = File.ReadAllBytes(tree.PathOf(file));
            if (source.AsSpan().SequenceEqual(generated))
            {
                continue;
            }

            var sourceLines = File.ReadAllLines(Repository.PathOf(file)).Where(line => !MarkerLine().IsMatch(line));
            if (file == "Services.sln")
            {
                sourceLines = WithoutTemplateTests(sourceLines.ToList());
            }

            if (!sourceLines.SequenceEqual(File.ReadAllLines(tree.PathOf(file)).Select(MappedBack)))
            {
                changed.Add(file);
            }
        }

        Assert.True(changed.Count == 0, $"files the template changed beyond its markers:\n{string.Join('\n', changed)}");

        // A package keeps no file modes: the chmod post-action must list every script that is executable here.
        var notExecutable = expected.Where(f => IsExecutable(Repository.PathOf(f)) && !IsExecutable(tree.PathOf(f))).ToList();
        Assert.True(notExecutable.Count == 0,
            $"executable here but not in the generated solution (add them to the chmod post-action):\n{string.Join('\n', notExecutable)}");
    }

    private static bool IsExecutable(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;

    /// <summary>`dotnet new install &lt;folder&gt;` (a clone) must give what the package gives: template.json's excludes mirror the .gitignore files.</summary>
    [Fact]
    public async Task Installing_from_the_repository_folder_gives_the_same_solution_as_the_package()
    {
        var hive = Path.Combine(template.WorkDirectory, "folder-hive");
        (await Dotnet.RunAsync(template.WorkDirectory, TimeSpan.FromMinutes(2), "new", "install", Repository.Root, "--debug:custom-hive", hive)).EnsureSuccess();
        var output = Path.Combine(template.WorkDirectory, "from-folder");
        (await Dotnet.RunAsync(template.WorkDirectory, TimeSpan.FromMinutes(5),
            "new", TemplatePackage.ShortName, "-n", "Fabrikam.Shipping", "-o", output, "--skip-restore", "--no-update-check", "--debug:custom-hive", hive)).EnsureSuccess();

        var fromPackage = new GeneratedTree(await template.GenerateAsync(new Variant("Fabrikam.Shipping")));

        Assert.Equal(fromPackage.Files, new GeneratedTree(output).Files);
    }

    /// <summary>Services.sln as generated: tests/Template.Tests's project block and configuration lines removed.</summary>
    private static List<string> WithoutTemplateTests(List<string> lines)
    {
        var project = lines.FindIndex(l => l.Contains(@"""tests\Template.Tests\Template.Tests.csproj""", StringComparison.Ordinal));
        Assert.True(project >= 0 && lines[project + 1] == "EndProject", "Services.sln should list tests/Template.Tests");
        var guid = lines[project][(lines[project].LastIndexOf('{') + 1)..lines[project].LastIndexOf('}')];
        lines.RemoveRange(project, 2);
        lines.RemoveAll(l => l.Contains(guid, StringComparison.OrdinalIgnoreCase));
        return lines;
    }

    /// <summary>Project (and solution folder) GUID by the path Services.sln lists it under.</summary>
    private static Dictionary<string, string> ProjectGuidsByPath(string sln) =>
        SolutionProject().Matches(sln).ToDictionary(m => m.Groups["path"].Value, m => m.Groups["guid"].Value);

    private static bool IsTemplateOnly(string path) =>
        path.StartsWith(".template.config/", StringComparison.Ordinal)
        || path.StartsWith("template/", StringComparison.Ordinal)
        || path.StartsWith("tests/Template.Tests/", StringComparison.Ordinal)
        || path == ".github/workflows/template.yml";

    [GeneratedRegex(@"^Project\(""\{[^}]+\}""\) = ""[^""]+"", ""(?<path>[^""]+)"", ""\{(?<guid>[^}]+)\}""", RegexOptions.Multiline)]
    private static partial Regex SolutionProject();

    [GeneratedRegex(@"DevelopmentKey = ""([^""]+)""")]
    private static partial Regex DevelopmentKey();

    [GeneratedRegex(@"(^|/)(bin|obj|TestResults|node_modules|\.git|template|Template\.Tests)/|\.github/workflows/template\.yml$|\.db$")]
    private static partial Regex PackageJunk();

    /// <summary>`#if (X)`, `//#if (X)`, `<!--#if (X) -->` and their #else/#elseif/#endif: removed by the engine.</summary>
    [GeneratedRegex(@"^\s*(//|<!--)?\s*#(if|elseif|else|endif)\b")]
    private static partial Regex MarkerLine();
}
