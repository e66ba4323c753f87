using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Contracts.Tests;

/// <summary>The protos are the source of truth for every language: they must lint and compile with stock tools.</summary>
public class ProtoToolingTests
{
    private static readonly string ProtosDir = Repository.PathOf("protos");

    [Fact]
    public async Task Protos_pass_buf_lint_standard()
    {
        var buf = Tool.Require("buf", "npm install -g @bufbuild/buf");

        var result = await Tool.RunAsync(buf, ["lint"], ProtosDir, TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, "buf lint failed:\n" + result.Output);
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

            var result = await Tool.RunAsync(protoc, ["-I.", $"--python_out={output}", .. files], ProtosDir, TimeSpan.FromMinutes(1));

            Assert.True(result.ExitCode == 0, "protoc failed:\n" + result.Output);
            Assert.True(File.Exists(Path.Combine(output, "orders", "v1", "orders_pb2.py")));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
