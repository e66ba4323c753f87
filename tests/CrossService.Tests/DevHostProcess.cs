using System.Text.RegularExpressions;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.CrossService.Tests;

/// <summary>
/// The built DevHost (Contoso.Retail.DevHost.dll, copied next to this test assembly) run as a child
/// process with `dotnet`, its output collected line by line.
/// </summary>
public sealed partial class DevHostProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private DevHostProcess(ChildProcess process) => _process = process;

    public int Id => _process.Id;

    /// <summary>stdout and stderr lines so far, in arrival order.</summary>
    public IReadOnlyList<string> Lines => _process.Lines;

    public string Output => _process.Output;

    public bool HasExited => _process.HasExited;

    /// <summary>The "ready &lt;service&gt; &lt;url&gt;" lines so far, by service name.</summary>
    public IReadOnlyDictionary<string, Uri> Ready => Lines
        .Select(line => ReadyLine().Match(line))
        .Where(match => match.Success)
        .ToDictionary(match => match.Groups["service"].Value, match => new Uri(match.Groups["url"].Value));

    /// <summary>The "rest &lt;service&gt; &lt;url&gt;" lines so far (REST/JSON and the OpenAPI document), by service name.</summary>
    public IReadOnlyDictionary<string, Uri> Rest => Lines
        .Select(line => RestLine().Match(line))
        .Where(match => match.Success)
        .ToDictionary(match => match.Groups["service"].Value, match => new Uri(match.Groups["url"].Value));

    // DevHost's content root is its working directory; its appsettings.json is copied here too.
    public static DevHostProcess Start(params string[] args) => new(ChildProcess.Start(
        ChildProcess.DotnetHost, [Path.Combine(AppContext.BaseDirectory, "Contoso.Retail.DevHost.dll"), .. args], AppContext.BaseDirectory));

    /// <returns>The exit code; fails the test if the process is still running after <paramref name="timeout"/>.</returns>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>What `docker stop` or Kubernetes sends.</summary>
    public Task SendSigtermAsync() => _process.SendSigtermAsync();

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex(@"^ready (?<service>\S+) (?<url>http://\S+)$")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"^rest (?<service>\S+) (?<url>http://\S+)$")]
    private static partial Regex RestLine();
}
