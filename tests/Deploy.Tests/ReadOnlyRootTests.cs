using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
//#if (IncludeTelemetry)
using Contoso.Retail.Contracts.Telemetry.V1;
//#endif
using Contoso.Retail.Deploy.Tests.Support;
using Contoso.Retail.TestSupport;

using Google.Protobuf.WellKnownTypes;

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Contoso.Retail.Deploy.Tests;

/// <summary>
/// What the images promise, checked without Docker: each service published as the Dockerfile publishes it (Release,
/// for this architecture, framework-dependent, no appsettings.Development.json) and started with compose's settings by
/// bubblewrap as uid 1654, with every file read-only except /tmp, reaches SERVING and serves a call; its database is
/// the only thing it wrote.
/// </summary>
/// <remarks>
/// One flag differs: the Dockerfile also asks for ReadyToRun, which precompiles the code and so changes how fast it
/// starts, not which files it reads or writes. Compiling the services' dependencies that way took ~45 s of a generated
/// solution's first test run (65 s against 19 s for this publish from clean), the longest part of it. DockerfileTests
/// checks that the Dockerfile asks for it, and the image builds in ci.yml compile it.
/// </remarks>
[Trait("Category", "Long")]
public sealed class ReadOnlyRootTests
{
    /// <summary>Relative, so each project publishes into its own bin/read-only-root/.</summary>
    private const string RelativePublishDir = "bin/read-only-root/";

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(90);

    /// <summary>Every service published once per test run, started by the first test that needs it.</summary>
    private static readonly Lazy<Task<ChildProcess.Result>> Publish = new(PublishAllAsync);

    /// <summary>Project, database name, and the scope of the call the test makes.</summary>
    public static TheoryData<string, string, string> Services => new()
    {
        { "Inventory", "Inventory", "inventory.read" },
        { "Orders", "Orders", "orders.read" },
        //#if (IncludeTelemetry)
        { "TelemetryIngest", "Telemetry", "telemetry.read" },
        //#endif
    };

    public static TheoryData<string> Projects => new(DeployedService.All.Select(s => s.Project));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Published_service_serves_as_uid_1654_with_a_read_only_filesystem_writing_only_to_tmp(string project, string database, string scope)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "bubblewrap is Linux only");
        var bwrap = Tool.Require("bwrap", "Debian package bubblewrap");
        var app = await PublishedAsync(project);
        var tmp = Directory.CreateTempSubdirectory("read-only-root-");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp.FullName, (UnixFileMode)0x1FF); // rwxrwxrwx, like a tmpfs /tmp
        }
        var grpcPort = FreePort();
        var environment = new Dictionary<string, string?>
        {
            // As docker-compose.yml and the Dockerfile's runtime stage set them (SQLite instead of PostgreSQL).
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_HTTP_PORTS"] = "",
            ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
            ["TMPDIR"] = "/tmp",
            ["Auth__DevSigningKey"] = DevTokens.DevelopmentKey,
            ["Database__Provider"] = "Sqlite",
            [$"ConnectionStrings__{database}"] = $"Data Source=/tmp/{database}.db",
            ["Services__Inventory"] = "http://127.0.0.1:9",
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{FreePort()}",
            ["Kestrel__Endpoints__Web__Url"] = $"http://127.0.0.1:{FreePort()}",
        };
        string[] sandbox =
        [
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", tmp.FullName, "/tmp",
            // Again after /tmp: a checkout under /tmp (a CI clone) would otherwise be hidden by the new /tmp.
            "--ro-bind", app, app,
            "--unshare-user", "--uid", "1654", "--gid", "1654", "--die-with-parent", "--chdir", app,
            ChildProcess.DotnetHost, $"Contoso.Retail.{project}.dll",
        ];

        try
        {
            await using var service = ChildProcess.Start(bwrap, sandbox, app, environment, maxLines: 2_000);
            var address = new Uri($"http://127.0.0.1:{grpcPort}");
            var serving = await Eventually.WithinAsync(() => ServingAsync(address), StartBound);
            Assert.True(serving, $"{project} did not report SERVING within {StartBound} (exited: {service.HasExited}):\n{service.Output}");

            var token = DevTokens.Mint("read-only-root", [scope], TimeSpan.FromMinutes(5));
            using var channel = BearerChannel.ForAddress(address, token);
            await CallAsync(project, channel);

            Assert.Equal([$"{database}.db"], Directory.EnumerateFiles(tmp.FullName).Select(Path.GetFileName).Where(f => f!.EndsWith(".db", StringComparison.Ordinal)));
        }
        finally
        {
            tmp.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The image runs with the tiering delay the project files ship (Directory.Build.props): on one CPU the runtime's
    /// own 1 s delay, restarted while new methods appear, left hot paths unoptimised for 30-60 s under load.
    /// </summary>
    [Theory]
    [MemberData(nameof(Projects))]
    public async Task Published_service_promotes_hot_methods_after_100_ms_on_one_cpu(string project)
    {
        var app = await PublishedAsync(project);
        using var runtimeConfig = JsonDocument.Parse(await File.ReadAllTextAsync(
            Path.Combine(app, $"Contoso.Retail.{project}.runtimeconfig.json"), Ct));
        var properties = runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        // Milliseconds, which the runtime multiplies by 10 when it sees one CPU.
        Assert.True(
            properties.TryGetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs", out var delay),
            $"{project}'s runtimeconfig.json sets no call-counting delay:\n{properties}");
        Assert.Equal(10, delay.GetInt32());
    }

    /// <summary>One contract call the service answers on its own (Orders' read needs no Inventory).</summary>
    private static async Task CallAsync(string project, GrpcChannel channel)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        switch (project)
        {
            case "Inventory":
                await new InventoryService.InventoryServiceClient(channel).ListItemsAsync(new ListItemsRequest(), deadline: deadline, cancellationToken: Ct);
                break;
            case "Orders":
                await new OrderService.OrderServiceClient(channel).ListOrdersAsync(
                    new ListOrdersRequest { CustomerId = "read-only-root" }, deadline: deadline, cancellationToken: Ct);
                break;
            //#if (IncludeTelemetry)
            case "TelemetryIngest":
                using (var query = new TelemetryIngestService.TelemetryIngestServiceClient(channel).Query(
                    new QueryRequest
                    {
                        DeviceId = "read-only-root",
                        StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
                        EndTime = Timestamp.FromDateTime(DateTime.UtcNow),
                    },
                    deadline: deadline,
                    cancellationToken: Ct))
                {
                    while (await query.ResponseStream.MoveNext(Ct))
                    {
                    }
                }

                break;
            //#endif
            default:
                throw new ArgumentOutOfRangeException(nameof(project), project, "No call for this service.");
        }
    }

    /// <summary>A fresh channel per attempt: a channel backs off between reconnects and would hide when the port opens.</summary>
    private static async Task<bool> ServingAsync(Uri address)
    {
        using var channel = GrpcChannel.ForAddress(address);
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: Ct);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    /// <summary>
    /// The service's folder as the Dockerfile's publish stage leaves it, but for ReadyToRun (see the class). Every
    /// service is published by one `dotnet publish` of a solution filter naming the service projects, with the
    /// Dockerfile's other flags: one restore, and one build of the projects they share (the same files, byte for
    /// byte, as one `dotnet publish` per service).
    /// </summary>
    private static async Task<string> PublishedAsync(string project)
    {
        var publish = await Publish.Value;
        Assert.True(publish.ExitCode == 0, publish.Output);
        return PublishDir(project);
    }

    private static string PublishDir(string project) =>
        Path.TrimEndingDirectorySeparator(Repository.PathOf("src", project, RelativePublishDir));

    private static async Task<ChildProcess.Result> PublishAllAsync()
    {
        // Emptied first, as the image's /out/app starts empty: nothing left over from an earlier run is tested.
        foreach (var service in DeployedService.All.Where(s => Directory.Exists(PublishDir(s.Project))))
        {
            Directory.Delete(PublishDir(service.Project), recursive: true);
        }

        var filterDir = Directory.CreateTempSubdirectory("read-only-root-publish-");
        try
        {
            var filter = Path.Combine(filterDir.FullName, "services.slnf");
            var projects = DeployedService.All.Select(s => $"src/{s.Project}/{s.Project}.csproj").ToArray();
            await File.WriteAllTextAsync(filter, JsonSerializer.Serialize(new { solution = new { path = Repository.PathOf("Services.sln"), projects } }));
            var architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
            var publish = await ChildProcess.RunAsync(
                ChildProcess.DotnetHost,
                [
                    "publish", filter, "-c", "Release", $"-p:PublishDir={RelativePublishDir}",
                    "-p:UseAppHost=false", "-a", architecture, "--self-contained", "false",
                    "--disable-build-servers",
                ],
                Repository.Root,
                TimeSpan.FromMinutes(10),
                ChildProcess.UserShellEnvironment());
            if (publish.ExitCode == 0)
            {
                foreach (var service in DeployedService.All)
                {
                    File.Delete(Path.Combine(PublishDir(service.Project), "appsettings.Development.json"));
                }
            }

            return publish;
        }
        finally
        {
            filterDir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
