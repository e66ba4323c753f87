using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// The built DevHost (Contoso.Retail.DevHost.dll, copied next to this test assembly) run as a child
/// process with `dotnet`, its output collected line by line.
/// </summary>
public sealed partial class DevHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DevHostProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>stdout and stderr lines so far, in arrival order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public string Output => string.Join('\n', _lines);

    /// <summary>The "ready &lt;service&gt; &lt;url&gt;" lines so far, by service name.</summary>
    public IReadOnlyDictionary<string, Uri> Ready => Lines
        .Select(line => ReadyLine().Match(line))
        .Where(match => match.Success)
        .ToDictionary(match => match.Groups["service"].Value, match => new Uri(match.Groups["url"].Value));

    public static DevHostProcess Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Contoso.Retail.DevHost.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // DevHost's content root is its working directory; its appsettings.json is copied here too.
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var host = new DevHostProcess(process);
        var open = 2;
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is not null)
            {
                host._lines.Enqueue(e.Data);
            }
            else if (Interlocked.Decrement(ref open) == 0)
            {
                host._outputClosed.TrySetResult();
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    public bool HasExited => _process.HasExited;

    /// <returns>The exit code; fails the test if the process is still running after <paramref name="timeout"/>.</returns>
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
            Assert.Fail($"DevHost did not exit within {timeout}:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>What `docker stop` or Kubernetes sends.</summary>
    public async Task SendSigtermAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, kill.ExitCode);
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"^ready (?<service>\S+) (?<url>http://\S+)$")]
    private static partial Regex ReadyLine();
}
