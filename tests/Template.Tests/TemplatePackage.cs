using System.Collections.Concurrent;

using Contoso.Retail.TestSupport;

[assembly: AssemblyFixture(typeof(Contoso.Retail.Template.Tests.TemplatePackage))]

// Each instantiation is a `dotnet new` and most tests build or restore: one at a time keeps this machine usable.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]

namespace Contoso.Retail.Template.Tests;

/// <summary>How to instantiate the template: `-n Name` plus its options (each default as the template's).</summary>
public sealed record Variant(string Name, bool Telemetry = true, bool Benchmarks = false, bool HardeningTests = false, bool Restore = false)
{
    /// <summary>Every option on: the variant closest to this repository.</summary>
    public static Variant Full(string name) => new(name, Telemetry: true, Benchmarks: true, HardeningTests: true);

    public IEnumerable<string> Options()
    {
        yield return "--telemetry-ingest";
        yield return Telemetry ? "true" : "false";
        yield return "--benchmarks";
        yield return Benchmarks ? "true" : "false";
        yield return "--hardening-tests";
        yield return HardeningTests ? "true" : "false";
        if (!Restore)
        {
            yield return "--skip-restore";
        }
    }

    /// <summary>The namespace root the name must become: letters, digits and dots kept, anything else dropped.</summary>
    public string NamespaceRoot => string.Concat(Name.Where(c => char.IsAsciiLetterOrDigit(c) || c == '.'));

    /// <summary>Lower-case hyphen form (images, Kubernetes labels, npm).</summary>
    public string KebabName => string.Join('-', System.Text.RegularExpressions.Regex.Split(Name.ToLowerInvariant(), "[^a-z0-9]+").Where(part => part.Length > 0));

    /// <summary>Upper-case underscore form (environment variable prefix).</summary>
    public string UpperSnakeName => KebabName.Replace('-', '_').ToUpperInvariant();

    /// <summary>Snake form (Python packages).</summary>
    public string SnakeName => string.Concat(Name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    public override string ToString() =>
        $"{Name}{(Telemetry ? "" : " --telemetry-ingest false")}{(Benchmarks ? " --benchmarks" : "")}"
        + $"{(HardeningTests ? " --hardening-tests" : "")}{(Restore ? "" : " --skip-restore")}";
}

/// <summary>
/// The template packed from this repository (template/Templates.csproj) and installed into a private
/// `--debug:custom-hive`, so the user's own template list is never touched; and the solutions instantiated from it,
/// one per <see cref="Variant"/>, in a temporary folder removed at the end.
/// </summary>
public sealed class TemplatePackage : IAsyncLifetime
{
    public const string ShortName = "grpc-microservices";

    private readonly ConcurrentDictionary<Variant, Lazy<Task<string>>> _generated = new();
    private int _count;

    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), "template-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string Hive => Path.Combine(WorkDirectory, "hive");

    public string PackagePath { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(WorkDirectory);
        var packages = Path.Combine(WorkDirectory, "package");
        (await Dotnet.RunAsync(Repository.Root, TimeSpan.FromMinutes(5),
            "pack", Repository.PathOf("template", "Templates.csproj"), "-o", packages, "--disable-build-servers")).EnsureSuccess();
        PackagePath = Directory.GetFiles(packages, "*.nupkg").Single();
        (await Dotnet.RunAsync(WorkDirectory, TimeSpan.FromMinutes(2),
            "new", "install", PackagePath, "--debug:custom-hive", Hive)).EnsureSuccess();
    }

    /// <summary>The solution `dotnet new grpc-microservices` generates for <paramref name="variant"/> (made once).</summary>
    public Task<string> GenerateAsync(Variant variant) =>
        _generated.GetOrAdd(variant, v => new Lazy<Task<string>>(() => InstantiateAsync(v))).Value;

    /// <summary>Runs `dotnet new` for <paramref name="variant"/> into a fresh folder; returns the folder and the command's output.</summary>
    public async Task<(string Directory, Dotnet.Result Result)> InstantiateFreshAsync(Variant variant)
    {
        var output = Path.Combine(WorkDirectory, $"{Interlocked.Increment(ref _count):D2}-{variant.Name}");
        string[] args = ["new", ShortName, "-n", variant.Name, "-o", output, "--no-update-check", "--debug:custom-hive", Hive, .. variant.Options()];
        var result = await Dotnet.RunAsync(WorkDirectory, TimeSpan.FromMinutes(10), args);
        return (output, result);
    }

    public ValueTask DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable("TEMPLATE_TESTS_KEEP") != "1")
        {
            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is not worth failing the run for.
            }
        }

        return ValueTask.CompletedTask;
    }

    private async Task<string> InstantiateAsync(Variant variant)
    {
        var (output, result) = await InstantiateFreshAsync(variant);
        result.EnsureSuccess();
        return output;
    }
}
