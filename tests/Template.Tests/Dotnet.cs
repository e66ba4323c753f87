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
        var result = await ChildProcess.RunAsync(fileName, args, workingDirectory, timeout, ChildProcess.UserShellEnvironment());
        return new Result(result.Command, result.ExitCode, result.Output);
    }

    private static string Tail(string text, int length) => text.Length <= length ? text : "..." + text[^length..];
}
