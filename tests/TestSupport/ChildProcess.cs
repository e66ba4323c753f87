using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

using Xunit;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// A program run by a test as a child process, its stdout and stderr collected line by line: a tool run to the end
/// (<see cref="RunAsync"/>) or a service or DevHost that runs until stopped, signalled or killed.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxLines;
    private int _openStreams = 2;

    private ChildProcess(Process process, string command, int maxLines)
    {
        _process = process;
        Command = command;
        _maxLines = maxLines;
    }

    public sealed record Result(string Command, int ExitCode, string StdOut, string StdErr, string Output);

    public string Command { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>stdout and stderr lines so far, in arrival order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public string Output => string.Join('\n', _lines);

    public string StdOut => Snapshot(_stdout);

    public string StdErr => Snapshot(_stderr);

    /// <summary>`dotnet` (the one running the tests when known), for a built .dll.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>
    /// For a `dotnet` build or publish started from a test: `dotnet test`'s MSBuild and test-platform variables removed
    /// (they would give the child wrong SDK paths and nested test-host settings; a user's shell has none of them).
    /// </summary>
    public static Dictionary<string, string?> UserShellEnvironment()
    {
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(key => key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(key => key, string? (_) => null);
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        return environment;
    }

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    /// <param name="maxLines">Keep at most this many output lines (a chatty service would fill memory).</param>
    public static ChildProcess Start(
        string fileName, IEnumerable<string> args, string workingDirectory, IDictionary<string, string?>? environment = null, int maxLines = int.MaxValue)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process, $"{fileName} {string.Join(' ', start.ArgumentList)}", maxLines);
        process.OutputDataReceived += (_, e) => child.Collect(e.Data, child._stdout);
        process.ErrorDataReceived += (_, e) => child.Collect(e.Data, child._stderr);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the program to the end; kills it and throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static async Task<Result> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, IDictionary<string, string?>? environment = null)
    {
        await using var child = Start(fileName, args, workingDirectory, environment);
        var exitCode = await child.WaitForExitAsync(timeout);
        return new Result(child.Command, exitCode, child.StdOut, child.StdErr, child.Output);
    }

    /// <returns>The exit code, once the process has exited and its output is read.</returns>
    /// <exception cref="TimeoutException">Still running after <paramref name="timeout"/> (it is killed).</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            await _outputClosed.Task.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
            var output = Output;
            throw new TimeoutException($"`{Command}` did not finish within {timeout}:\n{(output.Length <= 8_000 ? output : "..." + output[^8_000..])}");
        }

        return _process.ExitCode;
    }

    /// <summary>What `docker stop` or Kubernetes sends.</summary>
    public async Task SendSigtermAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>SIGKILL: the process gets no chance to flush, drain or say goodbye.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private static string Snapshot(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    private void Collect(string? line, StringBuilder stream)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputClosed.TrySetResult();
            }

            return;
        }

        if (_lines.Count < _maxLines)
        {
            _lines.Enqueue(line);
            lock (stream)
            {
                stream.AppendLine(line);
            }
        }
    }
}
