using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Template.Tests;

/// <summary>Runs `dotnet` (and other tools) as a child process with the environment a user's shell would have.</summary>
public static class Dotnet
{
    public sealed record Result(string Command, int ExitCode, string Output)
    {
        public Result EnsureSuccess()
        {
            Assert.True(ExitCode == 0, $"`{Command}` exited {ExitCode}:\n{Tail(Output, 12_000)}");
            return this;
        }
    }

    public static Task<Result> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args) =>
        RunToolAsync("dotnet", workingDirectory, timeout, args);

    public static async Task<Result> RunToolAsync(string fileName, string workingDirectory, TimeSpan timeout, params string[] args)
    {
        // The test host runs under `dotnet test`, whose MSBuild and test-platform variables would leak into the
        // child's builds (wrong SDK paths, nested test-host settings). A user's shell has none of them.
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(key => key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(key => key, string? (_) => null);
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        var result = await ChildProcess.RunAsync(fileName, args, workingDirectory, timeout, environment);
        return new Result(result.Command, result.ExitCode, result.Output);
    }

    private static string Tail(string text, int length) => text.Length <= length ? text : "..." + text[^length..];
}
