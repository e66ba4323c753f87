using System.Xml.Linq;

namespace Contoso.Retail.Template.Tests;

/// <summary>
/// CI only (CI=true, as .ci/run and GitHub Actions set it): the default generated solution (what a newcomer gets: no
/// benchmarks, no hardening suites, so the nested run is small), built and tested in full - its own `dotnet test`,
/// PostgreSQL included when ConnectionStrings__TestPostgres is set - and its README's DevHost command run (with --demo,
/// which exits).
/// </summary>
public sealed class FullRunTests(TemplatePackage template)
{
    /// <summary>The trait .ci/run and the workflow use to run this after the rest of the suite, not beside it.</summary>
    public const string Trait = "FullRun";

    // The nested `dotnet test` competes with the outer suite for the same cores (its fuzz failed so in CI): run it alone.
    [Fact]
    [Trait("Category", Trait)]
    public async Task Generated_solution_passes_its_own_tests_and_its_readme_commands_work()
    {
        Assert.SkipUnless(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
            "the full build and test of a generated solution runs when CI=true (.ci/run sets it); it takes several minutes");
        var (root, created) = await template.InstantiateFreshAsync(new Variant("Fabrikam.Shipping", Restore: true));
        created.EnsureSuccess();

        // The generated README's two commands: `dotnet test`, and DevHost (its --demo variant runs a scenario and exits).
        // Built first so build servers can be turned off (`dotnet test` would hand that switch to the test apps).
        (await Dotnet.RunAsync(root, TimeSpan.FromMinutes(15), "build", "-warnaserror", "--disable-build-servers")).EnsureSuccess();
        var results = Path.Combine(root, "TestResults", "full");
        // Without the long-running tests (Category=Long: the AppHost, the published services under a read-only root): the
        // outer suite runs the same ones on the same code.
        var test = await Dotnet.RunAsync(root, TimeSpan.FromMinutes(25), "test", "--no-build", "-p:TrxPerProject=true", "--results-directory", results,
            "--", "--filter-not-trait", "Category=Long");
        Assert.True(test.ExitCode == 0, $"`dotnet test` of the generated solution exited {test.ExitCode}; failed tests:\n{FailedTests(results)}");
        var demo = (await Dotnet.RunAsync(root, TimeSpan.FromMinutes(5), "run", "--project", "src/DevHost", "--no-build", "--", "--demo")).EnsureSuccess();

        Assert.Contains("demo finished", demo.Output, StringComparison.Ordinal);
    }

    /// <summary>Name and message of every failed test in the TRX files under <paramref name="directory"/>.</summary>
    private static string FailedTests(string directory)
    {
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        var failed = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*.trx", SearchOption.AllDirectories)
                .SelectMany(file => XDocument.Load(file).Descendants(ns + "UnitTestResult"))
                .Where(result => (string?)result.Attribute("outcome") is not ("Passed" or "NotExecuted"))
                .Select(result =>
                {
                    // ErrorInfo's message: the test's output lines are Message elements too (TextMessages), and come first.
                    var message = (string?)result.Descendants(ns + "ErrorInfo").Descendants(ns + "Message").FirstOrDefault() ?? "";
                    return $"- {(string?)result.Attribute("testName")}: {(message.Length > 1500 ? message[..1500] + "..." : message)}";
                })
                .ToList()
            : [];
        return failed.Count == 0 ? "(no failed test in the TRX files: see the output above)" : string.Join('\n', failed);
    }
}
