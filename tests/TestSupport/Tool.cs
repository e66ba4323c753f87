namespace Contoso.Retail.TestSupport;

/// <summary>Runs an external tool (buf, protoc, python3) for tests, skipping the test when it is not installed.</summary>
public static class Tool
{
    /// <summary>The full path of <paramref name="name"/> on PATH (or the absolute path itself), or null.</summary>
    public static string? Find(string name)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Skips the calling test (or fails it, see <see cref="TestDependencies"/>), naming how to install the tool, when it is missing.</summary>
    public static string Require(string name, string installHint)
    {
        var found = Find(name);
        if (found is null)
        {
            TestDependencies.Missing($"'{name}' is not installed ({installHint}); .ci/run installs it.");
        }

        return found;
    }

    /// <summary>Runs the tool to the end (see <see cref="ChildProcess.RunAsync"/>).</summary>
    public static Task<ChildProcess.Result> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, IDictionary<string, string?>? environment = null) =>
        ChildProcess.RunAsync(fileName, args, workingDirectory, timeout, environment);
}

/// <summary>Locates files of the repository from a test's output folder.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Services.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (Services.sln) above " + AppContext.BaseDirectory);
    }
}
