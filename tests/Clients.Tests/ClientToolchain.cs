using System.Text.RegularExpressions;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Clients.Tests;

/// <summary>
/// Runs the clients' own tools (python3, node, npm) as child processes with the addresses in their environment,
/// and skips a test, naming what to install, when a tool is missing.
/// </summary>
public static partial class ClientToolchain
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Debian's chromium (playwright-core drives it; no browser download).</summary>
    public const string Chromium = "/usr/bin/chromium";

    public static string ClientsDir(string client) => Repository.PathOf("clients", client);

    /// <summary>Debian's python3 with python3-grpcio, protoc and grpc_python_plugin, or the test is skipped.</summary>
    public static async Task RequirePythonAsync()
    {
        Tool.Require("protoc", "apt-get install protobuf-compiler");
        Tool.Require("grpc_python_plugin", "apt-get install protobuf-compiler-grpc");
        Tool.Require(Python, "apt-get install python3");
        var probe = await RunAsync(Python, ["-c", "import grpc, google.protobuf"], Repository.Root, [], TimeSpan.FromSeconds(30));
        if (probe.ExitCode != 0)
        {
            TestDependencies.Missing("Python gRPC is not installed (apt-get install python3-grpcio python3-protobuf); .ci/run installs it.");
        }
    }

    /// <summary>node and npm, or the test is skipped.</summary>
    public static (string Node, string Npm) RequireNode() =>
        (Tool.Require("node", "install Node.js 18 or later"), Tool.Require("npm", "install Node.js 18 or later (npm comes with it)"));

    /// <summary>`npm ci` in a client folder: exactly the committed package-lock.json.</summary>
    public static async Task NpmCiAsync(string npm, string dir)
    {
        var install = await RunAsync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], dir, [], TimeSpan.FromMinutes(4));
        Assert.True(install.ExitCode == 0, $"npm ci in {dir} failed:\n{install.Output}");
    }

    public static Task<ChildProcess.Result> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, Dictionary<string, string> environment, TimeSpan timeout) =>
        Tool.RunAsync(fileName, args, workingDirectory, timeout, environment.ToDictionary(e => e.Key, e => (string?)e.Value));

    /// <summary>The counts at the end of node's TAP reporter ("# pass 8", "# fail 0", "# skipped 0").</summary>
    public static (int Pass, int Fail, int Skipped) NodeTestCounts(string tap) =>
        (TapCount(tap, "pass"), TapCount(tap, "fail"), TapCount(tap, "skipped"));

    /// <summary>unittest's summary on stderr: "Ran 8 tests in 1.2s" then "OK", "OK (skipped=2)" or "FAILED (...)".</summary>
    public static (int Ran, string Verdict) UnittestSummary(string stderr)
    {
        var ran = UnittestRan().Match(stderr);
        var verdict = UnittestVerdict().Matches(stderr).LastOrDefault();
        return (ran.Success ? int.Parse(ran.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0, verdict?.Value.Trim() ?? "");
    }

    private static int TapCount(string tap, string name)
    {
        var match = Regex.Match(tap, $@"^# {name} (\d+)$", RegexOptions.Multiline);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    [GeneratedRegex(@"^Ran (\d+) tests? in ", RegexOptions.Multiline)]
    private static partial Regex UnittestRan();

    [GeneratedRegex(@"^(OK|FAILED).*$", RegexOptions.Multiline)]
    private static partial Regex UnittestVerdict();
}
