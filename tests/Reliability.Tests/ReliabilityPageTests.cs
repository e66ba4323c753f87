using System.Text.Json.Nodes;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Reliability.Tests;

/// <summary>
/// docs/reliability.md is rendered by docs/reliability/render.py from docs/reliability/page.md and the figures of one
/// run kept in docs/reliability/figures (docs/reliability/run.sh makes both). Python only, a second or two.
/// </summary>
public sealed class ReliabilityPageTests
{
    private static string Figures => Repository.PathOf("docs", "reliability", "figures");

    [Fact]
    public async Task The_page_is_what_the_renderer_makes_of_the_kept_figures()
    {
        var output = Path.Combine(Path.GetTempPath(), $"reliability-{Guid.NewGuid():N}.md");
        try
        {
            var result = await RenderAsync(Figures, output);

            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Equal(await File.ReadAllTextAsync(Repository.PathOf("docs", "reliability.md"), Ct), await File.ReadAllTextAsync(output, Ct));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task A_figure_the_page_quotes_that_the_run_did_not_write_fails_the_render_naming_it()
    {
        var figures = Directory.CreateTempSubdirectory("reliability-figures-");
        var output = Path.Combine(figures.FullName, "page.md");
        try
        {
            foreach (var file in Directory.EnumerateFiles(Figures, "*.json"))
            {
                File.Copy(file, Path.Combine(figures.FullName, Path.GetFileName(file)));
            }

            var scenario = Path.Combine(figures.FullName, "flaky-network-sqlite.json");
            var json = JsonNode.Parse(await File.ReadAllTextAsync(scenario, Ct))!.AsObject();
            Assert.True(json.Remove("orders"), "The kept figures should have the field this test removes.");
            await File.WriteAllTextAsync(scenario, json.ToJsonString(), Ct);

            var result = await RenderAsync(figures.FullName, output);

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("flaky-network-sqlite.json has no field 'orders'", result.StdErr, StringComparison.Ordinal);
            Assert.False(File.Exists(output), "A failed render must not write the page.");
        }
        finally
        {
            figures.Delete(recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<ChildProcess.Result> RenderAsync(string figures, string output)
    {
        var python = Tool.Find("/usr/bin/python3") ?? Tool.Require("python3", "apt-get install python3");
        return Tool.RunAsync(python, [Repository.PathOf("docs", "reliability", "render.py"), "--figures", figures, "--out", output],
            Repository.Root, TimeSpan.FromMinutes(1));
    }
}
