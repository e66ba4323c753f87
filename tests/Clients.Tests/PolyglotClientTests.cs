namespace Contoso.Retail.Clients.Tests;

/// <summary>
/// gRPC's promise is that any language speaks the same contract. The Python and Node clients (clients/) are
/// built from protos/ on every run - Python code regenerated with protoc, Node loading the protos at run time - and
/// their own test suites run against the real services: tokens, orders, rich errors, WatchStock, StreamIngest.
/// </summary>
public sealed class PolyglotClientTests(ClientSystem system)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Python_client_generated_from_protos_passes_its_tests_against_the_services()
    {
        await ClientToolchain.RequirePythonAsync();
        var dir = ClientToolchain.ClientsDir("python");

        var generate = await ClientToolchain.RunAsync(ClientToolchain.Python, ["generate.py"], dir, [], Timeout);
        Assert.True(generate.ExitCode == 0, $"generating the Python code from protos/ failed:\n{generate.Output}");
        var run = await ClientToolchain.RunAsync(ClientToolchain.Python, ["-m", "unittest", "discover", "-s", "tests", "-v"], dir, system.Environment(), Timeout);

        var (ran, verdict) = ClientToolchain.UnittestSummary(run.StdErr);
        Assert.True(run.ExitCode == 0, run.Output);
        // Every test ran: with the addresses set, none of the service tests may be skipped.
        Assert.True(verdict == "OK" && ran >= 8, $"expected at least 8 tests and a plain OK, got {ran} and '{verdict}':\n{run.Output}");
    }

    [Fact]
    public async Task Node_client_loading_protos_passes_its_tests_against_the_services()
    {
        var (node, npm) = ClientToolchain.RequireNode();
        var dir = ClientToolchain.ClientsDir("node");
        await ClientToolchain.NpmCiAsync(npm, dir);

        var run = await ClientToolchain.RunAsync(node, ["--test", "--test-reporter=tap"], dir, system.Environment(), Timeout);

        var (pass, fail, skipped) = ClientToolchain.NodeTestCounts(run.StdOut);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.True(pass >= 8 && fail == 0 && skipped == 0, $"expected at least 8 passed, none failed or skipped; got {pass}/{fail}/{skipped}:\n{run.Output}");
    }
}
