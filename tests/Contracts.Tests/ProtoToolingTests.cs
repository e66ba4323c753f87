using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Contracts.Tests;

/// <summary>The protos are the source of truth for every language: they must lint and compile with stock tools.</summary>
public class ProtoToolingTests
{
    private static readonly string ProtosDir = Repository.PathOf("protos");

    [Fact]
    public async Task Protos_pass_buf_lint_standard()
    {
        Tool.Require("buf", "npm install -g @bufbuild/buf");
        Tool.Require("protoc", "apt-get install protobuf-compiler");

        var result = await Tool.RunAsync("bash", ["buf.sh", "lint"], ProtosDir, TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, "protos/buf.sh lint failed:\n" + result.Output);
    }

    [Fact]
    public async Task Buf_lint_fails_a_contract_that_breaks_the_style()
    {
        Tool.Require("buf", "npm install -g @bufbuild/buf");
        Tool.Require("protoc", "apt-get install protobuf-compiler");
        var copy = Directory.CreateTempSubdirectory("protos-lint-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(ProtosDir, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(ProtosDir, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            var orders = Path.Combine(copy, "orders", "v1", "orders.proto");
            var text = await File.ReadAllTextAsync(orders, TestContext.Current.CancellationToken);
            text = text.Replace("message GetOrderRequest", "message get_order_request", StringComparison.Ordinal)
                .Replace("(GetOrderRequest)", "(get_order_request)", StringComparison.Ordinal);
            await File.WriteAllTextAsync(orders, text, TestContext.Current.CancellationToken);
            var result = await Tool.RunAsync("bash", [Path.Combine(copy, "buf.sh"), "lint"], copy, TimeSpan.FromMinutes(2),
                new Dictionary<string, string?> { ["GOOGLEAPIS_PROTOS"] = await GoogleApisAsync() });

            Assert.True(result.ExitCode != 0, "lint passed a message named get_order_request:\n" + result.Output);
            Assert.Contains("get_order_request", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task Protos_compile_with_plain_protoc_for_another_language()
    {
        var protoc = Tool.Require("protoc", "apt-get install protobuf-compiler");
        var output = Directory.CreateTempSubdirectory("protoc-python-").FullName;
        try
        {
            var files = Directory.GetFiles(ProtosDir, "*.proto", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(ProtosDir, f));

            var result = await Tool.RunAsync(
                protoc, ["-I.", $"-I{await GoogleApisAsync()}", $"--python_out={output}", .. files], ProtosDir, TimeSpan.FromMinutes(1));

            Assert.True(result.ExitCode == 0, "protoc failed:\n" + result.Output);
            Assert.True(File.Exists(Path.Combine(output, "orders", "v1", "orders_pb2.py")));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>The second include path (google/api from a package), as protos/googleapis-path finds it.</summary>
    private static async Task<string> GoogleApisAsync()
    {
        var result = await Tool.RunAsync("bash", ["googleapis-path"], ProtosDir, TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, "protos/googleapis-path failed:\n" + result.Output);
        return result.StdOut.Trim();
    }
}
