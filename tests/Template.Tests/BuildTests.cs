using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Template.Tests;

/// <summary>
/// Generated solutions build with warnings as errors: the default (restored by its post-action), every option on, and
/// the default without the telemetry ingest sample (the variant with the most template markers in the code).
/// </summary>
public sealed class BuildTests(TemplatePackage template)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    [Fact]
    public async Task Default_solution_is_restored_by_the_post_action_and_builds_with_warnings_as_errors()
    {
        var (root, created) = await template.InstantiateFreshAsync(new Variant("Fabrikam.Shipping", Restore: true));
        created.EnsureSuccess();
        Assert.Contains("Restore succeeded", created.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(root, "src", "Orders", "obj", "project.assets.json")), "the restore post-action did not restore");

        (await Dotnet.RunAsync(root, BuildTimeout, "build", "--no-restore", "-warnaserror", "--disable-build-servers")).EnsureSuccess();

        Assert.True(File.Exists(Path.Combine(root, "src", "DevHost", "bin", "Debug", "net10.0", "Fabrikam.Shipping.DevHost.dll")));
    }

    [Fact]
    public async Task Hyphenated_name_with_every_option_builds_with_warnings_as_errors()
    {
        var variant = Variant.Full("Acme-Shop");
        // A fresh copy: the shared one is inspected by other tests while this build writes bin/ and obj/.
        var (root, created) = await template.InstantiateFreshAsync(variant);
        created.EnsureSuccess();
        Assert.False(File.Exists(Path.Combine(root, "src", "Orders", "obj", "project.assets.json")), "--skip-restore still restored");

        (await Dotnet.RunAsync(root, BuildTimeout, "build", "-warnaserror", "--disable-build-servers")).EnsureSuccess();

        Assert.True(File.Exists(Path.Combine(root, "src", "Orders", "bin", "Debug", "net10.0", $"{variant.NamespaceRoot}.Orders.dll")));
        Assert.True(File.Exists(Path.Combine(root, "tests", "Security.Tests", "bin", "Debug", "net10.0", $"{variant.NamespaceRoot}.Security.Tests.dll")));
        Assert.True(File.Exists(Path.Combine(root, "bench", "LoadGen", "bin", "Debug", "net10.0", $"{variant.NamespaceRoot}.LoadGen.dll")));
    }

    [Fact]
    public async Task Default_solution_without_telemetry_ingest_builds_with_warnings_as_errors()
    {
        var (root, created) = await template.InstantiateFreshAsync(new Variant("Fabrikam.Shipping", Telemetry: false));
        created.EnsureSuccess();

        (await Dotnet.RunAsync(root, BuildTimeout, "build", "-warnaserror", "--disable-build-servers")).EnsureSuccess();

        Assert.True(File.Exists(Path.Combine(root, "src", "Orders", "bin", "Debug", "net10.0", "Fabrikam.Shipping.Orders.dll")));
    }

    [Fact]
    public async Task Generated_protos_pass_buf_lint()
    {
        Tool.Require("buf", "npm install -g @bufbuild/buf");
        Tool.Require("protoc", "apt-get install protobuf-compiler");
        var root = await template.GenerateAsync(Variant.Full("Acme-Shop"));

        (await Dotnet.RunToolAsync("bash", Path.Combine(root, "protos"), TimeSpan.FromMinutes(2), "buf.sh", "lint")).EnsureSuccess();
    }
}
